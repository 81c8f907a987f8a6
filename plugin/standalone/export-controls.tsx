/**
 * The standalone editor's export: a format (PNG, JPEG, WebP), a quality for the lossy two, and a
 * button that downloads the visible layers flattened, named after the document.
 */
import { useState } from 'react';
import { encodeImage } from './canvas-view.ts';
import type { EditorModel } from './document-model.ts';
import {
  DEFAULT_EXPORT_QUALITY, EXPORT_FORMATS, encoderQuality, exportFileName, exportFormat, type ExportFormatId,
} from './export-image.ts';

export interface ExportControlsProps {
  model: EditorModel;
  documentName: string;
  onError: (message: string) => void;
}

export function ExportControls({ model, documentName, onError }: ExportControlsProps) {
  const [formatId, setFormatId] = useState<ExportFormatId>('png');
  const [quality, setQuality] = useState(DEFAULT_EXPORT_QUALITY);
  const format = exportFormat(formatId);

  const save = async () => {
    if (!model.hasDocument) return;
    try {
      const blob = await encodeImage(model.composite(false), format, encoderQuality(quality));
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = exportFileName(documentName, format);
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      model.markSaved(); // the layers are now in a file: replacing the document needs no warning
    } catch (e) {
      onError(`Could not export ${format.label}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  return (
    <span className="export-controls" role="group" aria-label="Export">
      <select data-testid="export-format" aria-label="Export format" value={formatId}
        onChange={(e) => setFormatId(e.target.value as ExportFormatId)}>
        {EXPORT_FORMATS.map((f) => <option key={f.id} value={f.id}>{f.label}</option>)}
      </select>
      {format.lossy && (
        <input data-testid="export-quality" type="number" min={1} max={100} value={quality} aria-label={`${format.label} quality (%)`}
          title="Quality (%)" onChange={(e) => setQuality(Number(e.target.value))} />
      )}
      <button type="button" data-testid="export-button" disabled={!model.hasDocument} aria-label={`Export as ${format.label}`}
        onClick={() => void save()}>
        Export
      </button>
    </span>
  );
}
