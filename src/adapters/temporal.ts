import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { Env } from '../config';

type TemporalEnv = Pick<Env, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TLS_CERT_FILE' | 'TEMPORAL_TLS_KEY_FILE' | 'TEMPORAL_TLS_CA_FILE' | 'TEMPORAL_TLS_SERVER_NAME'>;

/** mTLS settings for a Temporal cluster or Temporal Cloud, from the files the configuration names; none without them. */
export function temporalTls(env: TemporalEnv): TLSConfig | undefined {
  if (!env.TEMPORAL_TLS_CERT_FILE || !env.TEMPORAL_TLS_KEY_FILE) return undefined;
  return {
    clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT_FILE), key: readFileSync(env.TEMPORAL_TLS_KEY_FILE) },
    ...(env.TEMPORAL_TLS_CA_FILE ? { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_CA_FILE) } : {}),
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
}

export async function createTemporalClient(env: TemporalEnv): Promise<Client> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS, tls: temporalTls(env), connectTimeout: '5s' });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
}

export async function pingTemporal(client: Client): Promise<string> {
  const info = await client.workflowService.getSystemInfo({});
  return `Temporal ${info.serverVersion ?? '?'}`;
}
