import { describe, expect, it } from 'vitest';
import { encoderQuality, exportFileName, exportFormat, EXPORT_FORMATS } from '../../../plugin/standalone/export-image.ts';

describe('export formats', () => {
  it('offers PNG, JPEG and WebP, the lossy two with a quality', () => {
    expect(EXPORT_FORMATS.map((f) => `${f.id}:${f.mime}:${f.lossy}`)).toEqual(['png:image/png:false', 'jpeg:image/jpeg:true', 'webp:image/webp:true']);
  });

  it('names the file after the document, with the format extension', () => {
    expect(exportFileName('Holiday 2024', exportFormat('jpeg'))).toBe('Holiday 2024.jpg');
    expect(exportFileName('photo', exportFormat('webp'))).toBe('photo.webp');
    expect(exportFileName('a/b:c?', exportFormat('png'))).toBe('a_b_c_.png');
    expect(exportFileName('  ..', exportFormat('png'))).toBe('Untitled.png');
  });

  it('turns a percent quality into the encoder’s 0–1, clamped', () => {
    expect(encoderQuality(85)).toBe(0.85);
    expect(encoderQuality(0)).toBe(0.01);
    expect(encoderQuality(250)).toBe(1);
    expect(encoderQuality(Number.NaN)).toBe(0.92);
  });
});
