import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_COST_PER_TOKEN } from '../../src/domain/litellm-config';

/** Needs LiteLLM's own Python environment, which `stack/stack.sh install` creates: an integration test. */
describe('the generated LiteLLM configuration as LiteLLM reads it', () => {
  it('gives token prices that PyYAML parses as floats, not strings', () => {
    // LiteLLM's own interpreter (installed by `stack/stack.sh install`) reads the file the way the proxy does.
    const python = join(process.env.NEURONODE_CACHE ?? join(homedir(), '.cache', 'neuronode'), 'venvs', 'litellm', 'bin', 'python');
    expect(existsSync(python)).toBe(true);
    const out = execFileSync(python, ['-c', `import yaml,json,sys; d=yaml.safe_load(open(sys.argv[1])); print(json.dumps(sorted({type(m['model_info']['input_cost_per_token']).__name__ for m in d['model_list']}) + [d['model_list'][0]['model_info']['input_cost_per_token']]))`, join(__dirname, '..', '..', 'litellm', 'config.local.yaml')]).toString();
    expect(JSON.parse(out)).toEqual(['float', LOCAL_COST_PER_TOKEN]);
  });
});
