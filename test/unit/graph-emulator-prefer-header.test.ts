import { parsePrefer } from '../../src/sandbox/graph-emulator/prefer-header';

describe('Graph emulator: the Prefer header', () => {
  it('reads several preferences from one header and from repeated headers', () => {
    expect(parsePrefer('outlook.timezone="Pacific Standard Time", IdType="ImmutableId", odata.maxpagesize=50')).toEqual({
      timeZone: 'Pacific Standard Time',
      immutableIds: true,
      maxPageSize: 50,
      applied: ['outlook.timezone="Pacific Standard Time"', 'IdType="ImmutableId"', 'odata.maxpagesize=50'],
    });
    expect(parsePrefer(['outlook.body-content-type="text"', 'outlook.timezone="Europe/Zurich"'])).toMatchObject({
      bodyContentType: 'text',
      timeZone: 'Europe/Zurich',
      immutableIds: false,
    });
  });

  it('ignores what it does not understand: unknown zones, other id types, bad page sizes, absent header', () => {
    expect(parsePrefer('outlook.timezone="Mars Standard Time", IdType="RestId", odata.maxpagesize=0, return=minimal')).toEqual({ immutableIds: false, applied: [] });
    expect(parsePrefer(undefined)).toEqual({ immutableIds: false, applied: [] });
  });

  it('keeps a comma inside a quoted value', () => {
    expect(parsePrefer('outlook.timezone="UTC", x="a,b"').timeZone).toBe('UTC');
  });
});
