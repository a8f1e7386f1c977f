import Redis from 'ioredis';

export function createRedis(url: string, name = 'neuronode'): Redis {
  return new Redis(url, {
    connectionName: name,
    connectTimeout: 5000,
    // Commands fail fast while Redis is down instead of piling up in memory.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
}

export async function pingRedis(redis: Redis): Promise<string> {
  const pong = await redis.ping();
  if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
  const info = await redis.info('server');
  const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? '?';
  return `Redis ${version}`;
}
