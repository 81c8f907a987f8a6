/**
 * What the standalone editor can export to: PNG, JPEG (with a quality) and WebP, and the file name
 * a download gets — the document's name, not a fixed "palette.png". Pure; the encoding itself needs
 * a canvas and lives in canvas-view.
 */
export type ExportFormatId = 'png' | 'jpeg' | 'webp';

export interface ExportFormat {
  id: ExportFormatId;
  label: string;
  mime: string;
  extension: string;
  /** Whether the quality setting applies. */
  lossy: boolean;
}

export const EXPORT_FORMATS: readonly ExportFormat[] = [
  { id: 'png', label: 'PNG', mime: 'image/png', extension: 'png', lossy: false },
  { id: 'jpeg', label: 'JPEG', mime: 'image/jpeg', extension: 'jpg', lossy: true },
  { id: 'webp', label: 'WebP', mime: 'image/webp', extension: 'webp', lossy: true },
];

export const DEFAULT_EXPORT_QUALITY = 92;

export function exportFormat(id: ExportFormatId): ExportFormat {
  const format = EXPORT_FORMATS.find((f) => f.id === id);
  if (!format) throw new RangeError(`No export format ${id}`);
  return format;
}

/** Quality in percent (1–100, from a text field) as the 0–1 number canvas encoders take. */
export function encoderQuality(percent: number): number {
  return Number.isFinite(percent) ? Math.min(100, Math.max(1, Math.round(percent))) / 100 : DEFAULT_EXPORT_QUALITY / 100;
}

/**
 * "Holiday 2024.jpg" for a document named "Holiday 2024": characters file systems refuse become
 * "_", and an empty name becomes "Untitled".
 */
export function exportFileName(documentName: string, format: ExportFormat): string {
  // eslint-disable-next-line no-control-regex
  const safe = documentName.replace(/[\u0000-\u001f<>:"/\\|?*]/g, '_').replace(/^[\s.]+|[\s.]+$/g, '');
  return `${safe || 'Untitled'}.${format.extension}`;
}
