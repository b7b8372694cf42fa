/**
 * The node arguments a child process of the tests runs with: TypeScript through tsx, and the
 * network guard installed first (no child of a test reaches a non-loopback address either).
 */
export const GuardedNodeArgs = ["--import", "tsx", "--import", "./test/setup/guard.setup.ts"] as const;
