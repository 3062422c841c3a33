import { mskConnectApi } from './msk-connect';
import { onEvent, type ConnectorEvent, type OnEventResult } from './replace';

/** onEvent of the CDC connector custom resource (lib/cdc/connector-resource.ts). */
export async function handler(event: ConnectorEvent): Promise<OnEventResult> {
  const result = await onEvent(event, mskConnectApi());
  console.log(JSON.stringify({ requestType: event.RequestType, ...result }));
  return result;
}
