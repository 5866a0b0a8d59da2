/** Types of build-ui.mjs for the agent's TypeScript (src/api/ui-assets.ts). */
export declare function buildUi(root: string): Promise<{ name: string; contents: Uint8Array }[]>;
