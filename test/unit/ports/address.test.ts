import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRouteInterface, inCidr, pickAddress, resolvePortConfig, type Interfaces } from '../../../src/ports/address.js';
import { hexAddress, parseNetTable } from '../../../src/ports/listening.js';
import type { ClientNetworkConfig } from '../../../src/agent/config-model.js';
import { isTendError } from '../../../src/errors.js';

const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
`;

const IFACES: Interfaces = {
  lo: [{ address: '127.0.0.1', family: 'IPv4' }, { address: '::1', family: 'IPv6' }],
  eth0: [{ address: 'fe80::1', family: 'IPv6' }, { address: '10.0.0.5', family: 'IPv4' }],
  eth1: [{ address: '192.168.1.7', family: 'IPv4' }],
  wg0: [{ address: 'fe80::9', family: 'IPv6' }, { address: 'fd00::7', family: 'IPv6' }],
};

const net = (o: Partial<ClientNetworkConfig> = {}): ClientNetworkConfig => ({ minDynamicPort: 20000, maxDynamicPort: 32000, reservedPorts: [], hostNetworks: [], ...o });

test('address: the default route with the lowest metric names the interface; its IPv4 address is the node\'s', () => {
  assert.equal(defaultRouteInterface(ROUTE), 'eth0');
  assert.equal(defaultRouteInterface(ROUTE.split('\n').slice(0, 1).join('\n')), undefined);
  assert.equal(pickAddress(IFACES.eth0), '10.0.0.5');
  assert.equal(pickAddress(IFACES.wg0), 'fd00::7', 'never a link-local address');
  const cfg = resolvePortConfig(net(), IFACES, ROUTE);
  assert.deepEqual(cfg.networks.get('default'), { name: 'default', address: '10.0.0.5', reserved: [] });
  // No default route: loopback.
  assert.equal(resolvePortConfig(net(), IFACES, '').networks.get('default')!.address, '127.0.0.1');
  // network_interface wins.
  assert.equal(resolvePortConfig(net({ networkInterface: 'lo' }), IFACES, ROUTE).networks.get('default')!.address, '127.0.0.1');
});

test('address: a network_interface that is not there is a config error; host networks resolve by interface and cidr', () => {
  assert.throws(
    () => resolvePortConfig(net({ networkInterface: 'eth9' }), IFACES, ROUTE),
    (e: unknown) => isTendError(e) && e.code === 'E_CONFIG_INVALID' && e.message === 'failed to find the address of client.network_interface "eth9": no such interface (have: eth0, eth1, lo, wg0)',
  );
  const cfg = resolvePortConfig(
    net({
      reservedPorts: [[22, 22]],
      hostNetworks: [
        { name: 'lan', cidr: '192.168.0.0/16', reservedPorts: [[9000, 9009]] },
        { name: 'vpn', interface: 'wg0', reservedPorts: [] },
        { name: 'v6', cidr: 'fd00::/8', reservedPorts: [] },
        { name: 'gone', cidr: '203.0.113.0/24', reservedPorts: [] },
      ],
    }),
    IFACES,
    ROUTE,
  );
  assert.deepEqual([...cfg.networks.values()].map((n) => [n.name, n.address, n.reserved]), [
    ['default', '10.0.0.5', []],
    ['lan', '192.168.1.7', [[9000, 9009]]],
    ['vpn', 'fd00::7', []],
    ['v6', 'fd00::7', []],
  ]);
  assert.deepEqual([...cfg.unresolved!], [['gone', 'no address of this node matches it (cidr "203.0.113.0/24")']]);
  assert.deepEqual(cfg.reserved, [[22, 22]]);
  assert.equal(inCidr('10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(inCidr('11.1.2.3', '10.0.0.0/8'), false);
  assert.equal(inCidr('1.2.3.4', '0.0.0.0/0'), true);
  assert.equal(inCidr('fd00::7', 'fd00::/16'), true);
  assert.equal(inCidr('fe80::7', 'fd00::/16'), false);
  assert.equal(inCidr('10.0.0.1', 'fd00::/16'), false);
});

test('listening: /proc/net tables give TCP sockets in LISTEN and every bound UDP socket, with addresses', () => {
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1680 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A1AD 0100007F:AD20 06 00000000:00000000 03:0000042C 00000000     0        0 0 3 0000000000000000
   2: 0100007F:0CEA 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 999 1 0000000000000000
`;
  assert.deepEqual(parseNetTable(tcp, 'tcp'), [{ proto: 'tcp', port: 8080, address: '0.0.0.0', inode: 1680 }]);
  const udp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 4321 2 0000000000000000 0
`;
  assert.deepEqual(parseNetTable(udp6, 'udp'), [{ proto: 'udp', port: 53, address: '::1', inode: 4321 }]);
  assert.equal(hexAddress('0100007F'), '127.0.0.1');
  assert.equal(hexAddress('0000000000000000FFFF00000100007F'), '::ffff:7f00:1');
  assert.equal(hexAddress('00000000000000000000000000000000'), '::');
  assert.deepEqual(parseNetTable('', 'tcp'), []);
});
