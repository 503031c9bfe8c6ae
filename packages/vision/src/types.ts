import type { ObjectClass } from '@iceberg/contracts';

/** A box in normalised coordinates [x, y, width, height], each 0..1 of the frame. */
export type NormBox = [x: number, y: number, w: number, h: number];

/** One object the detector found in one frame. */
export interface Detection {
  classId: number;
  class: ObjectClass;
  score: number;
  box: NormBox;
}

/** The frame the detector analyses: `width`×`height` pixels, 3 bytes a pixel, B, G, R. */
export interface BgrFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A frame for people to look at (snapshots, annotation): 4 bytes a pixel, R, G, B, A. */
export interface RgbaFrame {
  width: number;
  height: number;
  data: Uint8Array;
}
