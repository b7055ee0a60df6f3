import type { Client } from "openapi-fetch";
import type { paths as WorkspacePaths, components as WorkspaceComponents } from "./workspace.js";
import type { paths as OperatorPaths, components as OperatorComponents } from "./operator.js";

export type { WorkspacePaths, OperatorPaths };
/** Every wire type of the workspace API, by its schema name (`Quote`, `Hold`, …). */
export type Schemas = WorkspaceComponents["schemas"];
/** Every wire type of the operator API. */
export type OperatorSchemas = OperatorComponents["schemas"];
export type ApiError = Schemas["ApiError"];
export type ErrorCode = Schemas["ErrorCode"];

export interface Options {
  /** A fetch of your own (a proxy's, a test's); the platform's by default. */
  fetch?: (input: Request) => Promise<Response>;
}

export declare class CreditkitError extends Error {
  readonly status: number;
  readonly code: ErrorCode | "unknown";
  readonly body: ApiError | null;
}

export declare function workspaceClient(baseUrl: string, token: string, options?: Options): Client<WorkspacePaths>;
export declare function operatorClient(baseUrl: string, operatorKey: string, options?: Options): Client<OperatorPaths>;
export declare function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T>;
