import { flinkApi } from './flink-api';
import { onEvent, type OnEventResult, type StartEvent } from './start';

/** onEvent of the sessionize application's start custom resource. */
export async function handler(event: StartEvent): Promise<OnEventResult> {
  const result = await onEvent(event, flinkApi());
  console.log(JSON.stringify({ requestType: event.RequestType, ...result }));
  return result;
}
