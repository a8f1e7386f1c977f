'use client';
import Graph from 'graphology';
import FA2Layout from 'graphology-layout-forceatlas2/worker';
import forceAtlas2 from 'graphology-layout-forceatlas2';
import { useEffect, useRef, useState } from 'react';
import Sigma from 'sigma';
import { EdgeLineProgram, NodePointProgram } from 'sigma/rendering';

export interface GraphNode {
  id: string;
  name: string;
  type: string;
  mentions: number;
}
export interface GraphEdge {
  source: string;
  target: string;
  type: string;
  weight: number;
}

/** Colours by entity type, readable on both themes' backgrounds. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
export const colourOf = (type: string, types: string[]) => PALETTE[Math.max(0, types.indexOf(type)) % PALETTE.length]!;
/** Colours by relationship type: muted, so the entities stay in front, and apart from each other. */
const RELATION_PALETTE = ['#8d6e63', '#5c6bc0', '#26a69a', '#ef6c00', '#7e57c2', '#9e9d24', '#ec407a', '#78909c'];
export const relationColourOf = (type: string, relations: string[]) => RELATION_PALETTE[Math.max(0, relations.indexOf(type)) % RELATION_PALETTE.length]!;
/** The relationship types among `edges`, each with its count, in name order (the legend's and the colours' order). */
export function relationTypes(edges: GraphEdge[]): { type: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const e of edges) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => ({ type, count }));
}
/** Up to this many edges, each is named by its relationship type on the canvas. */
const LABELLED_EDGES = 150;

/**
 * Above these sizes the graph is drawn with sigma's lightest programs: nodes as round points and
 * edges as one-pixel lines (the weight no longer sets an edge's width). Each frame costs a fraction
 * of the default quads' (the web test's 5,000 nodes and 10,000 edges on Chromium's software WebGL:
 * hovering and zooming gave tasks of at most 59-107 ms in three runs, 449-508 ms with the default
 * programs), so the graph stays responsive without a GPU.
 */
const LIGHT_NODES = 1000;
const LIGHT_EDGES = 2000;

/** How long the force layout runs in its Web Worker before the graph is drawn: longer for larger graphs. */
const layoutMs = (order: number) => Math.min(1500, 400 + order / 4);

/**
 * The graph drawn with WebGL (sigma.js over graphology). Nodes start on a spiral, most mentioned in
 * the middle; ForceAtlas2 runs in a Web Worker (at most 1.5 s), then the graph is drawn once, so the
 * page's own thread is never busy re-drawing a moving layout.
 * A click on a node selects it; a selected node is centred and its neighbours stay bright.
 */
export default function GraphCanvas({ nodes, edges, types, selected, onSelect, label }: { nodes: GraphNode[]; edges: GraphEdge[]; types: string[]; selected: string | null; onSelect: (id: string | null) => void; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const sigma = useRef<Sigma | null>(null);
  const graph = useRef<Graph | null>(null);
  const picked = useRef<string | null>(selected);
  const select = useRef(onSelect);
  select.current = onSelect;
  const [drawn, setDrawn] = useState<{ ms: number; layout: 'done'; light: boolean } | null>(null);

  useEffect(() => {
    if (!box.current) return;
    const arrived = performance.now();
    const g = new Graph({ multi: true, type: 'directed' });
    const n = nodes.length;
    nodes.forEach((node, i) => {
      const angle = (2 * Math.PI * i) / Math.max(1, n);
      const radius = 10 + 90 * Math.sqrt(i / Math.max(1, n));
      g.addNode(node.id, { x: radius * Math.cos(angle), y: radius * Math.sin(angle), size: 3 + 3 * Math.log2(1 + node.mentions), label: node.name, color: colourOf(node.type, types), entityType: node.type });
    });
    const relations = relationTypes(edges).map((r) => r.type);
    for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.addEdge(e.source, e.target, { size: Math.min(4, 0.5 + e.weight / 2), color: relationColourOf(e.type, relations), label: e.type });
    graph.current = g;

    // The layout runs to its end in a Web Worker on a copy before anything is drawn: drawing while it
    // moves would re-render thousands of nodes per step on the page's own thread.
    let renderer: Sigma | null = null;
    let layout: FA2Layout | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let ended = false;
    const draw = () => {
      if (ended || !box.current) return;
      const light = g.order > LIGHT_NODES || g.size > LIGHT_EDGES;
      renderer = new Sigma(g, box.current, {
        ...(light ? { nodeProgramClasses: { circle: NodePointProgram }, edgeProgramClasses: { line: EdgeLineProgram } } : {}),
        renderEdgeLabels: g.size <= LABELLED_EDGES,
        // While the camera moves, edges and labels wait: a frame then draws nodes alone.
        hideEdgesOnMove: g.size > 2000,
        hideLabelsOnMove: g.order > 300,
        // Small graphs name every node; large ones only their larger nodes (sigma keeps labels apart).
        labelRenderedSizeThreshold: g.order <= 300 ? 0 : 8,
        labelColor: { color: getComputedStyle(document.documentElement).getPropertyValue('--fg').trim() || '#1a1d21' },
        nodeReducer: (id, attrs) => {
          const s = picked.current;
          if (!s || id === s || g.areNeighbors(id, s)) return id === s ? { ...attrs, highlighted: true, forceLabel: true } : attrs;
          return { ...attrs, color: '#c8ced8', label: '' };
        },
        edgeReducer: (id, attrs) => {
          const s = picked.current;
          if (!s) return attrs;
          return g.extremities(id).includes(s) ? attrs : { ...attrs, hidden: true };
        },
      });
      sigma.current = renderer;
      // Sigma draws in its constructor or in the next frame: after that frame, it has drawn.
      requestAnimationFrame(() => {
        if (!ended) setDrawn({ ms: Math.round(performance.now() - arrived), layout: 'done', light });
      });
      // The camera's zoom ratio, for tests and tools that check a zoom happened (kept off React's state:
      // a camera moves every frame).
      const camera = renderer.getCamera();
      const host = box.current;
      camera.on('updated', (state) => host.setAttribute('data-zoom', state.ratio.toFixed(3)));
      host.setAttribute('data-zoom', camera.getState().ratio.toFixed(3));
      renderer.on('clickNode', ({ node }) => select.current(node));
      renderer.on('clickStage', () => select.current(null));
    };
    if (g.order > 1) {
      const copy = g.copy();
      layout = new FA2Layout(copy, { settings: { ...forceAtlas2.inferSettings(copy), barnesHutOptimize: copy.order > 500, strongGravityMode: true, gravity: 0.2 } });
      layout.start();
      setDrawn(null);
      timer = setTimeout(() => {
        layout?.stop();
        copy.forEachNode((id, attrs) => g.mergeNodeAttributes(id, { x: attrs.x as number, y: attrs.y as number }));
        draw();
      }, layoutMs(g.order));
    } else draw();
    return () => {
      ended = true;
      if (timer) clearTimeout(timer);
      layout?.kill();
      renderer?.kill();
      sigma.current = null;
      graph.current = null;
    };
  }, [nodes, edges, types]);

  // A selection from outside (search, list) or from a click: highlighted and centred.
  useEffect(() => {
    picked.current = selected;
    const renderer = sigma.current;
    if (!renderer) return;
    renderer.refresh({ skipIndexation: true });
    if (selected && graph.current?.hasNode(selected)) {
      const at = renderer.getNodeDisplayData(selected);
      if (at) void renderer.getCamera().animate({ x: at.x, y: at.y, ratio: 0.4 }, { duration: 300 });
    }
  }, [selected]);

  return <div ref={box} className="graph-canvas" role="img" aria-label={label} data-testid="graph-canvas" data-nodes={nodes.length} data-edges={edges.length} data-drawn-ms={drawn?.ms} data-layout={drawn?.layout ?? 'running'} data-programs={drawn ? (drawn.light ? 'light' : 'full') : undefined} aria-busy={!drawn} />;
}
