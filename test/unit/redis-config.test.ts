import { ConfigError, loadConfig } from '../../src/config';
import { describeRedis, parseHostPorts } from '../../src/lib/redis-connection';

describe('Redis deployment variables (exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)', () => {
  const error = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('loadConfig accepted it');
  };

  it('defaults to one server at redis://127.0.0.1:6379', () => {
    expect(loadConfig({}).redis.connection).toEqual({ deployment: { kind: 'url', url: 'redis://127.0.0.1:6379' }, tlsCaFile: undefined });
    expect(loadConfig({ REDIS_URL: 'rediss://cache.internal:6380/2' }).redis.connection.deployment).toEqual({ kind: 'url', url: 'rediss://cache.internal:6380/2' });
  });

  it('reads a Sentinel deployment: the sentinels and the primary’s name', () => {
    const c = loadConfig({ REDIS_SENTINELS: 's1:26379, s2:26379,[::1]:26380', REDIS_SENTINEL_NAME: 'mymaster' }).redis.connection;
    expect(c.deployment).toEqual({
      kind: 'sentinel',
      name: 'mymaster',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }],
    });
    expect(describeRedis(c)).toBe('sentinel mymaster via s1:26379,s2:26379,::1:26380');
  });

  it('reads Sentinel and Cluster credentials, refused with REDIS_URL (whose URL carries its own)', () => {
    const s = loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_PASSWORD: 'pw', REDIS_SENTINEL_PASSWORD: 'spw' }).redis.connection;
    expect(s).toMatchObject({ auth: { password: 'pw' }, sentinelPassword: 'spw' });
    const c = loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_USERNAME: 'mw', REDIS_PASSWORD: 'pw' }).redis.connection;
    expect(c).toMatchObject({ auth: { username: 'mw', password: 'pw' } });
    expect(error({ REDIS_PASSWORD: 'pw' })).toBe(
      'invalid configuration: REDIS_PASSWORD is for REDIS_SENTINELS or REDIS_CLUSTER_NODES (with REDIS_URL, put the credentials in the URL)',
    );
    expect(error({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_SENTINEL_PASSWORD: 'spw' })).toBe('invalid configuration: REDIS_SENTINEL_PASSWORD needs REDIS_SENTINELS');
    expect(error({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_SENTINEL_PASSWORD: 'spw' })).not.toContain('spw"');
  });

  it('reads a Cluster deployment', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' }).redis.connection;
    expect(c.deployment).toEqual({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
  });

  it('refuses two deployments at once, naming both', () => {
    expect(error({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'n1:7000' })).toBe(
      'invalid configuration: REDIS_CLUSTER_NODES cannot be set together with REDIS_URL (set exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)',
    );
    expect(error({ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'n1:7000' })).toMatch(/^invalid configuration: REDIS_CLUSTER_NODES cannot be set together with REDIS_SENTINELS/);
  });

  it('names what is missing or malformed in one line', () => {
    expect(error({ REDIS_SENTINELS: 's:26379' })).toMatch(/^invalid configuration: REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/);
    expect(error({ REDIS_SENTINEL_NAME: 'mymaster' })).toMatch(/^invalid configuration: REDIS_SENTINEL_NAME needs REDIS_SENTINELS/);
    expect(error({ REDIS_CLUSTER_NODES: 'n1:7000,n2' })).toBe('invalid configuration: REDIS_CLUSTER_NODES must be a comma-separated list of host:port (bad entry "n2")');
    expect(error({ REDIS_CLUSTER_NODES: 'n1:70000' })).toMatch(/bad entry "n1:70000"/);
    expect(error({ REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' })).toBe('invalid configuration: REDIS_TLS_CA_FILE names no readable file (got "/nonexistent/ca.pem")');
    for (const e of [error({ REDIS_CLUSTER_NODES: 'n1:7000,n2' }), error({ REDIS_SENTINELS: 's:26379' })]) expect(e).not.toContain('\n');
  });

  it('parses host:port lists', () => {
    expect(parseHostPorts(' a:1 ,b.example.com:6379,')).toEqual([{ host: 'a', port: 1 }, { host: 'b.example.com', port: 6379 }]);
    expect(() => parseHostPorts(' , ')).toThrow('must list at least one host:port');
  });
});
