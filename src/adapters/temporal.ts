import { Client, Connection } from '@temporalio/client';

export async function createTemporalClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  return new Client({ connection, namespace });
}

export async function pingTemporal(client: Client): Promise<string> {
  const info = await client.workflowService.getSystemInfo({});
  return `Temporal ${info.serverVersion ?? '?'}`;
}
