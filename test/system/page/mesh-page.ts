/**
 * The browser-mesh test page: a {@link MeshMember} over rtcmesh's browser
 * build. The import of src/browser.js is rewritten when this page is bundled
 * to load `./rtcmesh.browser.js`, the file `npm run build` puts in dist/.
 */
import * as rtcmesh from '../../../src/browser.js';
import { MeshMember } from './mesh-member.js';

declare global {
  interface Window {
    member: MeshMember;
    engineName: string;
  }
}

window.member = new MeshMember(rtcmesh);
window.engineName = rtcmesh.getDefaultEngine().name;
