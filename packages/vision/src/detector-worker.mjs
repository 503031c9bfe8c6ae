// Worker thread bootstrap: Node 20 does not carry the parent's TypeScript loader into worker
// threads, so register tsx here before loading the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./detector-worker.ts');
