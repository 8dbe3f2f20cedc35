/**
 * The sync test page: a {@link SyncMember} and a {@link SyncMeshMember} over
 * rtcmesh's browser build. The
 * import of src/browser.js is rewritten when this page is bundled to load
 * `./rtcmesh.browser.js`, the file `npm run build` puts in dist/.
 */
import * as rtcmesh from '../../../src/browser.js';
import { SyncMember, SyncMeshMember } from './sync-member.js';

declare global {
  interface Window {
    syncMember: SyncMember;
    syncMeshMember: SyncMeshMember;
    syncEngineName: string;
  }
}

window.syncMember = new SyncMember(rtcmesh);
window.syncMeshMember = new SyncMeshMember(rtcmesh);
window.syncEngineName = rtcmesh.getDefaultEngine().name;
