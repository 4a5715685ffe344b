/**
 * Reading a zipped iOS .app: Info.plist in both forms, the icon and launch images iOS would
 * pick, the device family and orientation, and the bundles that cannot be used.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleError, readAppBundle } from '../../src/bundles/app-bundle.js';
import { pngInfo } from '../../src/bundles/png.js';
import { bufferSource, ZipArchive } from '../../src/bundles/zip.js';
import { appZip, buildZip, cgbiPng, DEMO_PLIST, png, xmlPlist } from './support.js';

const read = async (zip: Buffer) => readAppBundle(await ZipArchive.open(bufferSource(zip)));

async function refused(zip: Buffer, message: RegExp): Promise<void> {
  await assert.rejects(read(zip), (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('PNG headers', () => {
  it('reads the size of a PNG and recognises the CgBI variant', () => {
    assert.deepEqual(pngInfo(png(57, 30)), { width: 57, height: 30, appleOptimized: false });
    assert.deepEqual(pngInfo(cgbiPng(120, 120)), { width: 120, height: 120, appleOptimized: true });
    assert.equal(pngInfo(Buffer.from('GIF89a, not a png at all, no no no')), undefined);
    assert.equal(pngInfo(png(1, 1).subarray(0, 20)), undefined);
  });
});

describe('readAppBundle', () => {
  it('reads a simulator build with an XML Info.plist: identity, version, name, device, icon and launch images', async () => {
    const bundle = await read(appZip());
    assert.equal(bundle.path, 'Demo.app');
    assert.equal(bundle.identifier, 'com.example.demo');
    assert.equal(bundle.versionString, '1.2.4');
    assert.equal(bundle.displayName, 'Demo App');
    assert.deepEqual(bundle.deviceFamilies, ['iPhone']);
    assert.equal(bundle.landscape, false);
    assert.equal(bundle.icon?.path, 'Demo.app/Icon@2x.png');
    assert.deepEqual([bundle.icon?.width, bundle.icon?.height], [114, 114]);
    assert.deepEqual(bundle.icon?.data, png(114, 114, [0, 255, 0, 255]));
    assert.equal(bundle.defaultImage?.path, 'Demo.app/Default@2x.png');
    assert.equal(bundle.defaultImageLandscape?.path, 'Demo.app/Default-Landscape.png');
  });

  it('reads a binary Info.plist in an IPA-style Payload folder', async () => {
    const bundle = await read(appZip({ folder: 'Payload', plistFormat: 'binary' }));
    assert.equal(bundle.path, 'Payload/Demo.app');
    assert.equal(bundle.identifier, 'com.example.demo');
    assert.equal(bundle.versionString, '1.2.4');
    assert.equal(bundle.icon?.path, 'Payload/Demo.app/Icon@2x.png');
  });

  it('falls back to CFBundleVersion, CFBundleName and the folder name', async () => {
    const { CFBundleShortVersionString: _v, CFBundleDisplayName: _d, ...rest } = DEMO_PLIST;
    const bundle = await read(appZip({ plist: rest }));
    assert.equal(bundle.versionString, '42');
    assert.equal(bundle.displayName, 'Demo');
    const { CFBundleName: _n, CFBundleVersion: _b, ...bare } = rest;
    const minimal = await read(appZip({ plist: bare, appName: 'Bare Name' }));
    assert.equal(minimal.versionString, null);
    assert.equal(minimal.displayName, 'Bare Name');
  });

  it('follows CFBundleIcons to asset-catalog icon names and picks the largest', async () => {
    const { CFBundleIconFiles: _i, ...base } = DEMO_PLIST;
    const plist = { ...base, CFBundleIcons: { CFBundlePrimaryIcon: { CFBundleIconFiles: ['AppIcon29x29', 'AppIcon60x60'] } } };
    const bundle = await read(
      appZip({
        plist,
        noImages: true,
        files: { 'AppIcon29x29@2x.png': png(58, 58), 'AppIcon60x60@2x.png': png(120, 120), 'AppIcon60x60@3x.png': png(180, 180) },
      }),
    );
    assert.equal(bundle.icon?.path, 'Demo.app/AppIcon60x60@3x.png');
    assert.equal(bundle.defaultImage, null);
    assert.equal(bundle.defaultImageLandscape, null);
  });

  it('finds Icon*.png when Info.plist names no icon, and matches names regardless of case', async () => {
    const { CFBundleIconFiles: _i, ...plist } = DEMO_PLIST;
    const bundle = await read(appZip({ plist, noImages: true, files: { 'Icon-72.png': png(72, 72), 'icon-small.png': png(29, 29) } }));
    assert.equal(bundle.icon?.path, 'Demo.app/Icon-72.png');
    const cased = await read(appZip({ plist: { ...DEMO_PLIST, CFBundleIconFiles: ['ICON'] }, noImages: true, files: { 'icon.png': png(10, 10) } }));
    assert.equal(cased.icon?.path, 'Demo.app/icon.png');
  });

  it('passes over images that are not PNGs or are crushed CgBI PNGs', async () => {
    const bundle = await read(appZip({ noImages: true, files: { 'Icon.png': cgbiPng(57, 57), 'Icon@2x.png': 'not an image', 'Default.png': png(20, 30) } }));
    assert.equal(bundle.icon, null);
    assert.equal(bundle.defaultImage?.path, 'Demo.app/Default.png');
  });

  it('reads UILaunchImages with their orientations, and a landscape iPad app', async () => {
    const plist = {
      ...DEMO_PLIST,
      UIDeviceFamily: [2],
      UIInterfaceOrientation: 'UIInterfaceOrientationLandscapeRight',
      UILaunchImages: [
        { UILaunchImageName: 'LaunchImage-700-Portrait', UILaunchImageOrientation: 'Portrait', UILaunchImageSize: '{768, 1024}' },
        { UILaunchImageName: 'LaunchImage-700-Landscape', UILaunchImageOrientation: 'Landscape', UILaunchImageSize: '{768, 1024}' },
      ],
    };
    const bundle = await read(
      appZip({
        plist,
        noImages: true,
        files: {
          'LaunchImage-700-Portrait~ipad.png': png(76, 102),
          'LaunchImage-700-Landscape~ipad.png': png(102, 76),
          'LaunchImage-700-Landscape@2x~iphone.png': png(200, 100),
        },
      }),
    );
    assert.deepEqual(bundle.deviceFamilies, ['iPad']);
    assert.equal(bundle.landscape, true);
    assert.equal(bundle.defaultImage?.path, 'Demo.app/LaunchImage-700-Portrait~ipad.png');
    // The larger image is for the iPhone; an iPad app shows its own.
    assert.equal(bundle.defaultImageLandscape?.path, 'Demo.app/LaunchImage-700-Landscape~ipad.png');
  });

  it('reads UIDeviceFamily as a number, strings or a universal list', async () => {
    assert.deepEqual((await read(appZip({ plist: { ...DEMO_PLIST, UIDeviceFamily: 2 } }))).deviceFamilies, ['iPad']);
    assert.deepEqual((await read(appZip({ plist: { ...DEMO_PLIST, UIDeviceFamily: ['1', '2'] } }))).deviceFamilies, ['iPhone', 'iPad']);
    const { UIDeviceFamily: _f, ...none } = DEMO_PLIST;
    assert.deepEqual((await read(appZip({ plist: none }))).deviceFamilies, ['iPhone']);
  });

  it('takes the outermost .app and ignores __MACOSX resource forks', async () => {
    const zip = buildZip([
      { name: '__MACOSX/Other.app/Info.plist', data: 'junk' },
      { name: 'Demo.app/Info.plist', data: xmlPlist(DEMO_PLIST) },
      { name: 'Demo.app/Watch/Inner.app/Info.plist', data: xmlPlist({ CFBundleIdentifier: 'com.example.watch' }) },
    ]);
    const bundle = await read(zip);
    assert.equal(bundle.path, 'Demo.app');
    assert.equal(bundle.identifier, 'com.example.demo');
  });

  it('refuses zips without an .app, with two, or with a macOS app', async () => {
    await refused(buildZip([{ name: 'Info.plist', data: xmlPlist(DEMO_PLIST) }, { name: 'readme.txt', data: 'hi' }]), /no \.app bundle/);
    await refused(
      buildZip([
        { name: 'A.app/Info.plist', data: xmlPlist(DEMO_PLIST) },
        { name: 'B.app/Info.plist', data: xmlPlist(DEMO_PLIST) },
      ]),
      /more than one \.app bundle \(A\.app, B\.app\)/,
    );
    await refused(buildZip([{ name: 'Mac.app/Contents/Info.plist', data: xmlPlist(DEMO_PLIST) }]), /macOS app/);
  });

  it('refuses an Info.plist without CFBundleIdentifier, or one that is not a dictionary', async () => {
    const { CFBundleIdentifier: _id, ...plist } = DEMO_PLIST;
    await refused(appZip({ plist }), /no CFBundleIdentifier/);
    await refused(buildZip([{ name: 'X.app/Info.plist', data: xmlPlist(['a list']) }]), /not a dictionary/);
    await refused(appZip({ plist: { ...DEMO_PLIST, CFBundleIdentifier: ['com.example'] } }), /CFBundleIdentifier is not a string/);
    await refused(appZip({ plist: { ...DEMO_PLIST, CFBundleDisplayName: 'x'.repeat(300) } }), /longer than 255/);
  });

  it('refuses an Info.plist that is a symbolic link', async () => {
    await refused(buildZip([{ name: 'X.app/Info.plist', data: '/etc/passwd', symlink: true, method: 0 }]), /symbolic link/);
  });
});
