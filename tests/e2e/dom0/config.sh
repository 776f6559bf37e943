# Sizes and addresses of the e2e run (sourced by dom0/main.sh). The host's
# run.sh may append overrides (PVBACK_E2E_* variables) to this file.
# shellcheck shell=bash disable=SC2034
SUITES="pvbackd kernel"  # in this order: the kernel backends are loaded for the second
NET_MIB=64          # one TCP stream each way, digests compared (the minimum)
QUEUE_FLOWS=8       # parallel streams each way for the 2-queue check
QUEUE_FLOW_MIB=1    # MiB per stream
DISK_MIB=64         # the large file of the disk scenario
DISK_IMG_MIB=256    # guest disk backing file
HOTPLUG_DISK_MIB=8  # raw write/read on the hot-plugged disk
GUEST_MEM_MIB=256
GUEST_VCPUS=2
DOM0_IP=10.99.0.1
DOM0_IP2=10.99.1.1
GUEST_IP=10.99.0.2
GUEST_IP2=10.99.1.2
GUEST_MAC=00:16:3e:e2:00:01
GUEST_MAC2=00:16:3e:e2:00:02
CMD_PORT=7000
DOM0_DEADLINE_S=1500
