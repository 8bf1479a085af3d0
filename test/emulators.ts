import { type Emulator, startDynamoDBLocal, startKinesalite } from "../local/emulators";
import { type LocalClients, localClients } from "../local/clients";

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly kinesisEndpoint: string;
  readonly clients: LocalClients;
}

let started: Promise<{ emulators: Emulators; stop: () => Promise<void> }> | undefined;

/** DynamoDB Local and kinesalite, started once for the whole run and stopped by the root hook. */
export function emulators(): Promise<Emulators> {
  started ??= (async () => {
    const running: Emulator[] = [];
    try {
      const dynamo = await startDynamoDBLocal();
      running.push(dynamo);
      const kinesis = await startKinesalite();
      running.push(kinesis);
      return {
        emulators: { dynamoEndpoint: dynamo.endpoint, kinesisEndpoint: kinesis.endpoint, clients: localClients({ dynamo: dynamo.endpoint, kinesis: kinesis.endpoint }) },
        stop: async () => {
          await Promise.all(running.map((e) => e.stop()));
        },
      };
    } catch (error) {
      await Promise.all(running.map((e) => e.stop()));
      throw error;
    }
  })();
  return started.then((s) => s.emulators);
}

export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (started) await (await started.catch(() => ({ stop: async () => undefined }))).stop();
  },
};
