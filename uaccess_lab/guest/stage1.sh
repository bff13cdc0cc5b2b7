#!/bin/sh
# uaccess-lab's stage 1 init, added to virtme-ng's initramfs and run with
# rdinit=/uaccess-init. It does what virtme-ng's /init does for a 9p root,
# with one difference: the read-only host root is mounted with cache=loose.
# Without a page cache every exec re-reads ld.so and libc over 9p, which
# costs 0.5-1.5 s per command under TCG; with it, about 20 ms.
# The price: a host file changed while the guest runs may look stale in the
# guest. The guest's writable work dir (mounted later, uncached) has no such
# problem; copy changing files there (Guest.copy_in, Guest.load).
mount -t proc proc /proc
for arg in $(cat /proc/cmdline); do
  case "${arg%%=*}" in
    init) init="${arg#init=}" ;;
  esac
done
umount /proc

# virtme-ng lists the modules a 9p root needs, in dependency order.
while read -r line; do
  mod="${line##*insmod }"
  case "$mod" in
    *fuse.ko*|*virtiofs.ko*|*virtio_mmio.ko*) ;;  # only for virtiofs roots
    modules/*.ko*) insmod "/$mod" ;;  # 6.12 ships them as .ko.xz
  esac
done < /modules/load_all.sh

if ! mount -n -t 9p -o ro,version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose /dev/root /newroot; then
  echo "uaccess-lab: cannot mount the host's root over 9p"
  sleep 5
  exit 1
fi
exec switch_root /newroot "$init"
