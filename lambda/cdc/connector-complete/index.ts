import { mskConnectApi } from '../connector/msk-connect';
import { isComplete, type ConnectorEvent, type IsCompleteResult, type Operation } from '../connector/replace';

/** isComplete of the CDC connector custom resource (lib/cdc/connector-resource.ts). */
export async function handler(event: ConnectorEvent & { Data: Operation }): Promise<IsCompleteResult> {
  const result = await isComplete(event, mskConnectApi());
  console.log(JSON.stringify({ requestType: event.RequestType, operation: event.Data, ...result }));
  return result;
}
