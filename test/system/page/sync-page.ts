/**
 * The sync test page: a {@link SyncMember} over rtcmesh's browser build. The
 * import of src/browser.js is rewritten when this page is bundled to load
 * `./rtcmesh.browser.js`, the file `npm run build` puts in dist/.
 */
import * as rtcmesh from '../../../src/browser.js';
import { SyncMember } from './sync-member.js';

declare global {
  interface Window {
    syncMember: SyncMember;
    syncEngineName: string;
  }
}

window.syncMember = new SyncMember(rtcmesh);
window.syncEngineName = rtcmesh.getDefaultEngine().name;
