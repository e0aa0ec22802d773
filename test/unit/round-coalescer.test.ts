import { CLOCK_MARGIN_MS, RoundCoalescer } from '../../src/jobs/round-coalescer';

describe('round coalescer (channel-maintenance requests answered by a later round)', () => {
  it('runs every request until a round has started; then only those made since (within the clock margin)', () => {
    const rounds = new RoundCoalescer();
    expect(rounds.needed(0)).toBe(true);
    rounds.started(10_000);
    // Made before the round began (by more than the margin): the round read what they asked for.
    expect(rounds.needed(10_000 - CLOCK_MARGIN_MS - 1)).toBe(false);
    // Made around or after its start: another round.
    expect(rounds.needed(10_000 - CLOCK_MARGIN_MS)).toBe(true);
    expect(rounds.needed(10_500)).toBe(true);
    // A later round answers more; an earlier time reported late changes nothing.
    rounds.started(20_000);
    rounds.started(15_000);
    expect(rounds.needed(18_000)).toBe(false);
    expect(rounds.needed(19_500)).toBe(true);
  });
});
