const Sequencer = require('@jest/test-sequencer').default;

/** Alphabetical by path, with files under tests/lifecycle/ last (they stop the stack). */
class LifecycleLastSequencer extends Sequencer {
  sort(tests) {
    const last = (t) => (t.path.includes('/tests/lifecycle/') ? 1 : 0);
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
  }
}
module.exports = LifecycleLastSequencer;
