/** The Node major kvbackup runs on (the LTS Azure Functions supports as GA). */
export declare const SupportedMajor: number;
/** The line to print when this Node is too old, or undefined when it is new enough. */
export declare function oldNodeLine(version?: string): string | undefined;
