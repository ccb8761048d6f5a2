// A GenericContainer with kernel parameters of its network namespace set (docker run --sysctl):
// Testcontainers has no option for it, and privileged mode is refused here. Routers need
// net.ipv4.ip_forward; hole-punching workers net.ipv4.tcp_tw_reuse (see nat-lab.test.ts).
import { GenericContainer } from 'testcontainers'

export class SysctlContainer extends GenericContainer {
  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls }
    return this
  }
}
