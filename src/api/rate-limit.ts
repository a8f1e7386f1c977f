import type { RequestHandler, Response } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Deps } from '../deps';
import { ApiError } from './errors';
import type { Role } from './rbac';

/**
 * Rate limits kept in Redis, so every API process shares them: per client address on every request,
 * per user (by role) once authenticated, and a strict login limit per account and address whose
 * block doubles with each repeated lock-out. Responses carry RateLimit-* headers; a 429 carries
 * Retry-After.
 */
export interface RateLimits {
  perIp: RequestHandler;
  /** The public health check's own per-address limit. */
  health: RequestHandler;
  perUser: RequestHandler;
  login: {
    /** Throws 429 when the account/address pair is blocked. */
    check(email: string, ip: string): Promise<void>;
    failed(email: string, ip: string): Promise<void>;
    succeeded(email: string, ip: string): Promise<void>;
  };
}

const WINDOW_S = 60;

export function createRateLimits(deps: Deps): RateLimits {
  const { env } = deps;
  const make = (keyPrefix: string, points: number, duration = WINDOW_S) =>
    new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `neuronode:rl:${keyPrefix}`, points, duration });
  const ipLimiter = make('ip', env.RATE_LIMIT_IP_PER_MIN);
  const healthLimiter = make('health', env.RATE_LIMIT_HEALTH_PER_MIN);
  const roleLimiters: Record<Role, RateLimiterRedis> = {
    user: make('user', env.RATE_LIMIT_USER_PER_MIN),
    power_user: make('power_user', env.RATE_LIMIT_POWER_USER_PER_MIN),
    admin: make('admin', env.RATE_LIMIT_ADMIN_PER_MIN),
  };
  const loginFailures = make('login', env.LOGIN_MAX_FAILURES, env.LOGIN_BLOCK_SECONDS);
  const loginBlocks = make('login-blocks', 1_000_000, 86_400);

  const headers = (res: Response, limit: number, r: RateLimiterRes) => {
    res.setHeader('RateLimit-Policy', `${limit};w=${WINDOW_S}`);
    res.setHeader('RateLimit-Limit', String(limit));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, r.remainingPoints)));
    res.setHeader('RateLimit-Reset', String(Math.ceil(r.msBeforeNext / 1000)));
  };
  const tooMany = (r: RateLimiterRes, what: string) => {
    const retry = String(Math.max(1, Math.ceil(r.msBeforeNext / 1000)));
    return new ApiError('rate_limited', `too many requests ${what}; retry after ${retry} s`, { retry_after_s: Number(retry) }, { 'Retry-After': retry });
  };
  /** `failOpen`: when Redis is unavailable, pass (the health check must answer that Redis is down). */
  const consume = (limiter: RateLimiterRedis, limit: number, key: string, what: string, failOpen = false): RequestHandler =>
    (async (_req, res, next) => {
      try {
        headers(res, limit, await limiter.consume(key));
        next();
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          headers(res, limit, err);
          next(tooMany(err, what));
        } else if (failOpen) {
          console.warn(`rate limit ${what} not applied, Redis is unavailable: ${(err as Error).message}`);
          next();
        } else next(err); // Redis unavailable: a clear 500, never an unlimited pass
      }
    }) as RequestHandler;

  return {
    perIp: (req, res, next) => consume(ipLimiter, env.RATE_LIMIT_IP_PER_MIN, req.ip ?? 'unknown', 'from this address')(req, res, next),
    health: (req, res, next) => consume(healthLimiter, env.RATE_LIMIT_HEALTH_PER_MIN, req.ip ?? 'unknown', 'to the health check from this address', true)(req, res, next),
    perUser: (req, res, next) => {
      const p = req.user;
      if (!p) return next();
      const limit = { user: env.RATE_LIMIT_USER_PER_MIN, power_user: env.RATE_LIMIT_POWER_USER_PER_MIN, admin: env.RATE_LIMIT_ADMIN_PER_MIN }[p.role];
      return consume(roleLimiters[p.role], limit, p.userId, 'for this user')(req, res, next);
    },
    login: {
      async check(email, ip) {
        const r = await loginFailures.get(loginKey(email, ip));
        if (r && r.consumedPoints >= env.LOGIN_MAX_FAILURES) throw tooMany(r, 'failed logins for this account from this address');
      },
      async failed(email, ip) {
        const key = loginKey(email, ip);
        let over: boolean;
        try {
          over = (await loginFailures.consume(key)).remainingPoints <= 0;
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) throw err;
          over = true;
        }
        if (over) {
          // The limit is reached: block, twice as long as the previous block of this pair.
          const blocks = await loginBlocks.penalty(key, 1);
          const seconds = Math.min(86_400, env.LOGIN_BLOCK_SECONDS * 2 ** Math.max(0, blocks.consumedPoints - 1));
          await loginFailures.block(key, seconds);
        }
      },
      async succeeded(email, ip) {
        await loginFailures.delete(loginKey(email, ip));
      },
    },
  };
}

const loginKey = (email: string, ip: string) => `${email.trim().toLowerCase()}|${ip}`;
