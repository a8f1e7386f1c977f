const Sequencer = require('@jest/test-sequencer').default;
const { unsafeUniformIntDistribution, xoroshiro128plus } = require('pure-rand');

/**
 * The order of test files. By default alphabetical by path. With NEURONODE_TEST_ORDER=shuffle the
 * files are shuffled by Jest's seed (`--seed=N` replays an order; the seed is printed), which shows
 * that no file depends on another having run before it. Files under tests/lifecycle/ always run
 * last: they stop the stack.
 */
class TestOrder extends Sequencer {
  constructor(options) {
    super(options);
    this.seed = options.globalConfig.seed;
  }

  sort(tests) {
    const last = (t) => (t.path.includes('/tests/lifecycle/') ? 1 : 0);
    const sorted = [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
    if (process.env.NEURONODE_TEST_ORDER !== 'shuffle') return sorted;
    const seed = this.seed;
    const gen = xoroshiro128plus(seed);
    const body = sorted.filter((t) => !last(t));
    // Fisher–Yates with a seeded generator (as Jest's own --randomize): the same seed, the same order.
    for (let i = body.length - 1; i > 0; i--) {
      const j = unsafeUniformIntDistribution(0, i, gen);
      [body[i], body[j]] = [body[j], body[i]];
    }
    const order = [...body, ...sorted.filter(last)];
    process.stderr.write(
      `[test] file order shuffled with seed ${seed} (replay: NEURONODE_TEST_ORDER=shuffle scripts/test.sh --seed=${seed}):\n` +
        order.map((t, i) => `  ${i + 1}. ${t.path.slice(t.path.indexOf('/tests/') + 1)}`).join('\n') +
        '\n',
    );
    return order;
  }
}

module.exports = TestOrder;
