// The shadow scorer, two seconds slower per batch (test/experiments/shadow.test.ts puts it in
// the template in place of the real one): a shadow that sleeps must change no response.
import { handler as score } from '../../lambdas/experiments/shadow/scorer-handler';

export const handler = async (event: unknown) => {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return score(event);
};
