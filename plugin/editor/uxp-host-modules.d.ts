/**
 * Ambient declarations for the UXP host modules, which exist only inside Photoshop (no types are
 * installed). They are typed `unknown` on purpose: plugin/entries/uxp.tsx narrows them to the
 * documented shapes declared in uxp-document.ts (UxpHost) before injecting them.
 */
declare module 'photoshop' {
  export const app: unknown;
  export const core: unknown;
  export const imaging: unknown;
  export const action: unknown;
  export const constants: unknown;
}

declare module 'uxp' {
  export const entrypoints: {
    setup(config: { panels: Record<string, { show?(): void; create?(): void; hide?(): void; destroy?(): void }> }): void;
  };
}
