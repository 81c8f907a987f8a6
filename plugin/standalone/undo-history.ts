/**
 * An undo/redo history of whole-document snapshots. The document hands in the state as it was
 * *before* each change (`record`); `undo(current)` gives back the state to restore and keeps
 * `current` for redo. Snapshots are cheap because layer pixels are never changed in place, so a
 * snapshot shares them; what does cost memory (selection masks) is counted by `cost`, and the
 * oldest steps are dropped past `maxSteps` or `maxCost`.
 */

export interface HistoryStep<S> {
  /** What the change was, for the Undo / Redo buttons: "Delete layer", "Select". */
  label: string;
  state: S;
}

export interface UndoHistoryOptions<S> {
  maxSteps?: number;
  /** Bytes a snapshot holds on its own (not shared with the live document). */
  cost?: (state: S) => number;
  maxCost?: number;
}

export class UndoHistory<S> {
  private readonly undoSteps: HistoryStep<S>[] = [];
  private readonly redoSteps: HistoryStep<S>[] = [];
  private readonly maxSteps: number;
  private readonly maxCost: number;
  private readonly cost: (state: S) => number;

  constructor(options: UndoHistoryOptions<S> = {}) {
    this.maxSteps = options.maxSteps ?? 100;
    this.maxCost = options.maxCost ?? 512 * 1024 * 1024;
    this.cost = options.cost ?? (() => 0);
  }

  get canUndo(): boolean {
    return this.undoSteps.length > 0;
  }

  get canRedo(): boolean {
    return this.redoSteps.length > 0;
  }

  /** The label of the step Undo would revert, or null. */
  get undoLabel(): string | null {
    return this.undoSteps[this.undoSteps.length - 1]?.label ?? null;
  }

  get redoLabel(): string | null {
    return this.redoSteps[this.redoSteps.length - 1]?.label ?? null;
  }

  /** A change happened; `before` is the state it started from. A new change ends the redo branch. */
  record(label: string, before: S): void {
    this.undoSteps.push({ label, state: before });
    this.redoSteps.length = 0;
    this.trim();
  }

  /** Renames the newest step (two calls that make one user action, e.g. extend's resize + layer). */
  relabelLast(label: string): void {
    const last = this.undoSteps[this.undoSteps.length - 1];
    if (last) last.label = label;
  }

  /** Pops the newest step: returns the state to restore, and keeps `current` for redo. */
  undo(current: S): HistoryStep<S> | null {
    const step = this.undoSteps.pop();
    if (!step) return null;
    this.redoSteps.push({ label: step.label, state: current });
    return step;
  }

  redo(current: S): HistoryStep<S> | null {
    const step = this.redoSteps.pop();
    if (!step) return null;
    this.undoSteps.push({ label: step.label, state: current });
    return step;
  }

  clear(): void {
    this.undoSteps.length = 0;
    this.redoSteps.length = 0;
  }

  private trim(): void {
    while (this.undoSteps.length > this.maxSteps) this.undoSteps.shift();
    let total = [...this.undoSteps, ...this.redoSteps].reduce((sum, step) => sum + this.cost(step.state), 0);
    // Keep at least the newest step even when it alone is over the budget: one undo always works.
    while (total > this.maxCost && this.undoSteps.length > 1) {
      total -= this.cost(this.undoSteps.shift()!.state);
    }
  }
}
