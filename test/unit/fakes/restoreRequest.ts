import { HttpRequest, type HttpResponseInit, InvocationContext } from "@azure/functions";
import type { EngineDeps } from "../../../src/backup/deps.js";
import { postRestores } from "../../../src/functions/restoresApi.js";

/** POST /api/restores with this JSON body, through the real handler, as the Functions host calls it. */
export const postRestore = (deps: EngineDeps, body: unknown): Promise<HttpResponseInit> =>
  postRestores(deps)(
    new HttpRequest({
      method: "POST",
      url: "http://localhost/api/restores",
      body: { string: JSON.stringify(body) },
    }),
    new InvocationContext({ functionName: "test", logHandler: () => undefined }),
  ) as Promise<HttpResponseInit>;
