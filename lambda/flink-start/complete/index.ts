import { flinkApi } from '../flink-api';
import { isComplete, type IsCompleteResult, type StartDecision, type StartEvent } from '../start';

/** isComplete of the sessionize application's start custom resource. */
export async function handler(event: StartEvent & { Data?: StartDecision }): Promise<IsCompleteResult> {
  const result = await isComplete(event, flinkApi());
  console.log(JSON.stringify({ requestType: event.RequestType, decision: event.Data, ...result }));
  return result;
}
