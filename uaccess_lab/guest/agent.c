// SPDX-License-Identifier: GPL-2.0
/*
 * uaccess-agent: PID 1 of a uaccess-lab guest.
 *
 * The host boots the guest with virtme-ng's initramfs, which mounts the
 * host's root read-only over 9p and then runs this program as init. It
 * mounts the pseudo filesystems and the one writable work directory, then
 * serves the host's commands, one at a time, over two virtio-serial ports
 * that virtme-ng's script mode already provides:
 *   virtme.stdin   host -> guest requests
 *   virtme.stdout  guest -> host replies
 * The kernel's console (ttyS0) goes to the host separately, so a panic is
 * seen even when this program can no longer answer.
 *
 * Why C and not Python: under TCG, starting Python over 9p costs seconds;
 * this static binary starts in milliseconds and forks cheaply.
 *
 * Protocol (all numbers decimal, one header line then raw bytes):
 *   host:  "RUN <id> <timeout_ms> <cap> <argc>\n" then argc x "<len>\n<bytes>"
 *   guest: "RES <id> <status> <code> <usec>\n" then three streams
 *          (stdout, stderr, kernel log), each "<total> <head> <tail>\n"
 *          followed by head+tail bytes; total > head+tail means truncated.
 *          status: exit | signal | timeout | stuck
 *   host:  "PING <id>\n"  guest: "PONG <id>\n"
 *   guest at boot: "BOOT <stage>\n" lines, then "READY <release>\n".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#define MAX_ARGS 4096
#define MAX_ARG_LEN (1 << 20)
/* After SIGKILL, how long to wait for a command to die before calling it stuck. */
#define KILL_GRACE_MS 2000
/* After the command exits, how long background children may keep its pipes open. */
#define DRAIN_GRACE_MS 200

static int in_fd = -1, out_fd = -1, kmsg_fd = -1;
static char workdir[520] = "/tmp";

static char *child_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/tmp", "TERM=dumb", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL,
};

static void klog(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "<6>uaccess-agent: ");
	va_list ap;

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, buf, n > (int)sizeof(buf) ? (int)sizeof(buf) : n) < 0) {
			/* nothing more we can do */
		}
		close(fd);
	}
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	_exit(1);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- writing to the host ---- */

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(out_fd, p, n);

		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			power_off(); /* the host is gone */
		}
		p += w;
		n -= w;
	}
}

static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	write_all(buf, n);
}

/* ---- reading from the host ---- */

static char rbuf[65536];
static size_t rlen, rpos;

static int fill(void)
{
	int eofs = 0;

	for (;;) {
		ssize_t n = read(in_fd, rbuf, sizeof(rbuf));

		if (n > 0) {
			rlen = n;
			rpos = 0;
			return 0;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/*
		 * EOF: the host end is not connected. It may come back (a
		 * chardev reconnecting); give it a few seconds, then assume
		 * the host process died and switch the guest off.
		 */
		if (++eofs > 100)
			power_off();
		usleep(50000);
	}
}

static int get_byte(void)
{
	if (rpos == rlen)
		fill();
	return (unsigned char)rbuf[rpos++];
}

static void read_line(char *buf, size_t size)
{
	size_t i = 0;
	int c;

	while ((c = get_byte()) != '\n')
		if (i + 1 < size)
			buf[i++] = c;
	buf[i] = 0;
}

static void read_exact(char *dst, size_t n)
{
	while (n) {
		if (rpos == rlen)
			fill();
		size_t k = rlen - rpos < n ? rlen - rpos : n;

		memcpy(dst, rbuf + rpos, k);
		rpos += k;
		dst += k;
		n -= k;
	}
}

/* ---- bounded capture: keep the head and the tail, count the rest ---- */

struct capture {
	char *head, *tail;
	size_t half, head_len, tail_len, tail_pos;
	unsigned long long total;
};

static void cap_init(struct capture *c, size_t cap)
{
	c->half = cap / 2 ? cap / 2 : 1;
	c->head = malloc(c->half);
	c->tail = malloc(c->half);
	c->head_len = c->tail_len = c->tail_pos = 0;
	c->total = 0;
}

static void cap_add(struct capture *c, const char *p, size_t n)
{
	c->total += n;
	while (n && c->head_len < c->half) {
		c->head[c->head_len++] = *p++;
		n--;
	}
	while (n) { /* ring buffer for the tail */
		c->tail[c->tail_pos] = *p++;
		c->tail_pos = (c->tail_pos + 1) % c->half;
		if (c->tail_len < c->half)
			c->tail_len++;
		n--;
	}
}

static void cap_send(struct capture *c)
{
	say("%llu %zu %zu\n", c->total, c->head_len, c->tail_len);
	write_all(c->head, c->head_len);
	if (c->tail_len < c->half) {
		write_all(c->tail, c->tail_len);
	} else { /* full ring: oldest byte sits at tail_pos */
		write_all(c->tail + c->tail_pos, c->half - c->tail_pos);
		write_all(c->tail, c->tail_pos);
	}
	free(c->head);
	free(c->tail);
}

/* One /dev/kmsg record "pri,seq,usec,flags;text\n" -> "[  sec.usec] text\n" */
static void kmsg_drain(struct capture *c)
{
	char rec[8192], line[8300];

	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);

		if (n < 0 && errno == EPIPE) { /* overwritten before we read it */
			const char *lost = "[uaccess-agent: kernel log records lost (ring buffer overrun)]\n";

			cap_add(c, lost, strlen(lost));
			continue;
		}
		if (n <= 0)
			return;
		rec[n] = 0;
		char *semi = strchr(rec, ';');
		unsigned long long usec = 0;
		char *msg = semi ? semi + 1 : rec;

		if (semi)
			sscanf(rec, "%*u,%*u,%llu", &usec);
		char *nl = strchr(msg, '\n'); /* drop the " KEY=value" dictionary */

		if (nl)
			*nl = 0;
		int len = snprintf(line, sizeof(line), "[%5llu.%06llu] %s\n",
				   usec / 1000000, usec % 1000000, msg);
		cap_add(c, line, len > (int)sizeof(line) ? sizeof(line) - 1 : (size_t)len);
	}
}

/* ---- running one command ---- */

static int sig_fd = -1;
static pid_t child_pid;
static int child_status, child_done;

static void reap(void)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	/* We are init: reap everyone, including orphans of earlier commands. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == child_pid) {
			child_status = status;
			child_done = 1;
		}
	}
}

static void run(const char *id, long timeout_ms, size_t cap, char **argv)
{
	struct capture out, err, klog_cap;
	int po[2], pe[2];
	long start = now_ms(), give_up_at = -1, drain_until = -1;
	struct timespec t0, t1;
	int timed_out = 0, stuck = 0;

	cap_init(&out, cap);
	cap_init(&err, cap);
	cap_init(&klog_cap, cap);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	lseek(kmsg_fd, 0, SEEK_END); /* only what this command causes */
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		say("RES %s exit 127 0\n", id);
		cap_send(&out);
		cap_send(&err);
		cap_send(&klog_cap);
		return;
	}
	child_done = 0;
	child_pid = fork();
	if (child_pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		if (chdir(workdir))
			chdir("/");
		execvpe(argv[0], argv, child_env);
		dprintf(2, "uaccess-agent: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);

	int open_pipes = 2;
	struct pollfd fds[4] = {
		{ .fd = po[0], .events = POLLIN },
		{ .fd = pe[0], .events = POLLIN },
		{ .fd = kmsg_fd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};

	for (;;) {
		long now = now_ms();

		if (timed_out) {
			/* Done when every process of the command is gone and reaped. */
			if (child_done && kill(-child_pid, 0) < 0 && errno == ESRCH)
				break;
			if (now >= give_up_at) {
				stuck = 1; /* unkillable: stuck inside the kernel */
				break;
			}
		} else {
			if (child_done && drain_until < 0)
				drain_until = now + DRAIN_GRACE_MS;
			if (child_done && (open_pipes == 0 || now >= drain_until))
				break;
			if (!child_done && timeout_ms > 0 && now - start >= timeout_ms) {
				timed_out = 1;
				kill(-child_pid, SIGKILL);
				kill(child_pid, SIGKILL);
				give_up_at = now + KILL_GRACE_MS;
			}
		}

		long wait = 1000;
		if (timed_out)
			wait = 20; /* poll the process group until it is gone */
		else if (timeout_ms > 0)
			wait = start + timeout_ms - now;
		if (give_up_at > 0 && give_up_at - now < wait)
			wait = give_up_at - now;
		if (drain_until > 0 && drain_until - now < wait)
			wait = drain_until - now;
		if (wait < 0)
			wait = 0;
		if (poll(fds, 4, (int)wait) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			char buf[65536];
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));

			if (n > 0) {
				cap_add(i ? &err : &out, buf, n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_pipes--;
			}
		}
		if (fds[2].revents)
			kmsg_drain(&klog_cap);
		if (fds[3].revents)
			reap();
	}
	/* Leftover background processes of this command go too. */
	kill(-child_pid, SIGKILL);
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	kmsg_drain(&klog_cap);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long usec = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;

	if (stuck)
		say("RES %s stuck 0 %ld\n", id, usec);
	else if (timed_out)
		say("RES %s timeout %d %ld\n", id, WIFSIGNALED(child_status) ? WTERMSIG(child_status) : 0, usec);
	else if (WIFSIGNALED(child_status))
		say("RES %s signal %d %ld\n", id, WTERMSIG(child_status), usec);
	else
		say("RES %s exit %d %ld\n", id, WEXITSTATUS(child_status), usec);
	cap_send(&out);
	cap_send(&err);
	cap_send(&klog_cap);
	child_pid = 0;
}

static void serve(void)
{
	static char *argv[MAX_ARGS + 1];
	char line[512], id[64];

	for (;;) {
		long timeout_ms;
		size_t cap;
		int argc;

		read_line(line, sizeof(line));
		if (sscanf(line, "PING %63s", id) == 1) {
			say("PONG %s\n", id);
			continue;
		}
		if (sscanf(line, "RUN %63s %ld %zu %d", id, &timeout_ms, &cap, &argc) != 4 ||
		    argc < 1 || argc > MAX_ARGS) {
			say("ERR bad request: %.100s\n", line);
			continue;
		}
		for (int i = 0; i < argc; i++) {
			char num[32];
			size_t len;

			read_line(num, sizeof(num));
			len = strtoul(num, NULL, 10);
			if (len > MAX_ARG_LEN)
				len = MAX_ARG_LEN; /* host never sends this; stay bounded */
			argv[i] = malloc(len + 1);
			read_exact(argv[i], len);
			argv[i][len] = 0;
		}
		argv[argc] = NULL;
		run(id, timeout_ms, cap < 1024 ? 1024 : cap, argv);
		for (int i = 0; i < argc; i++)
			free(argv[i]);
	}
}

/* ---- boot ---- */

static char *cmdline_value(const char *cmdline, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while ((p = strstr(p, key))) {
		if ((p == cmdline || p[-1] == ' ') && p[klen] == '=') {
			p += klen + 1;
			size_t i = 0;

			while (*p && *p != ' ' && *p != '\n' && i + 1 < size)
				out[i++] = *p++;
			out[i] = 0;
			return out;
		}
		p += klen;
	}
	return NULL;
}

static void mkdirs(const char *path)
{
	char tmp[520];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

static int open_port(const char *name, int flags)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int fd = -1;

	while (d && (e = readdir(d))) {
		char path[300], buf[64] = "";

		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
		int nfd = open(path, O_RDONLY);

		if (nfd < 0)
			continue;
		ssize_t n = read(nfd, buf, sizeof(buf) - 1);

		close(nfd);
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = 0;
		if (strcmp(buf, name) == 0) {
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			fd = open(path, flags | O_CLOEXEC);
			break;
		}
	}
	if (d)
		closedir(d);
	return fd;
}

/* Load a module file of the guest's kernel (plain, or compressed: 6.12 ships .ko.xz). */
static int load_module(const char *release, const char *relpath)
{
	static const char *const suffixes[] = { "", ".xz", ".zst" };
	char path[600];

	for (unsigned int i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s%s", release, relpath, suffixes[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		/* MODULE_INIT_COMPRESSED_FILE: the kernel decompresses it itself. */
		int r = syscall(SYS_finit_module, fd, "", i ? 4 : 0);

		close(fd);
		return r;
	}
	return -1;
}

/*
 * The guest's /tmp: the host's /tmp (read-only, as every host file) with a
 * writable tmpfs layer on top, so programs can write there and host paths
 * under /tmp (a test's tmp_path, a cache) stay visible. Without overlayfs,
 * a plain tmpfs.
 */
static void setup_tmp(const char *release)
{
	const char *opts = "lowerdir=/tmp,upperdir=/run/tmp/upper,workdir=/run/tmp/work";

	mkdir("/run/tmp", 0755);
	mount("tmp-upper", "/run/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mkdir("/run/tmp/upper", 01777);
	chmod("/run/tmp/upper", 01777);
	mkdir("/run/tmp/work", 0755);
	if (mount("overlay", "/tmp", "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
		return;
	if (errno == ENODEV && load_module(release, "kernel/fs/overlayfs/overlay.ko") == 0 &&
	    mount("overlay", "/tmp", "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
		return;
	klog("no overlay on /tmp (%s): host files under /tmp are hidden\n", strerror(errno));
	mount("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

static void setup(void)
{
	static char cmdline[4096];
	char value[512];
	struct utsname u;

	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sys", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("dev", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666");
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	sethostname("uaccess-guest", 13);

	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : 0;

	if (fd >= 0)
		close(fd);
	cmdline[n > 0 ? n : 0] = 0;

	/*
	 * A sealed guest (Guest(sealed=...)) has a root of its own; the host
	 * exports only its /usr beside it, read-only and cached like the root.
	 */
	if (cmdline_value(cmdline, "uaccess.usr", value, sizeof(value)) &&
	    mount("uaccess.usr", "/usr", "9p", MS_RDONLY,
		  "trans=virtio,version=9p2000.L,access=any,msize=524288,cache=loose"))
		klog("cannot mount the host's /usr: %s\n", strerror(errno));

	/*
	 * Kernels from a per-user cache keep their modules outside /lib/modules.
	 * Bind-mount (not symlink) them there before /tmp is set up, so a cache
	 * under the host's /tmp stays visible even with the plain-tmpfs fallback.
	 */
	uname(&u);
	if (cmdline_value(cmdline, "uaccess.moddir", value, sizeof(value))) {
		char target[600];

		mount("modules", "/lib/modules", "tmpfs", 0, "mode=0755");
		snprintf(target, sizeof(target), "/lib/modules/%s", u.release);
		mkdir(target, 0755);
		if (mount(value, target, NULL, MS_BIND, NULL))
			klog("cannot bind %s to %s: %s\n", value, target, strerror(errno));
	}
	mount("run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	setup_tmp(u.release);

	/* virtme-ng's --rwdir export: tag virtme.initmount0, path without leading '/'. */
	if (cmdline_value(cmdline, "virtme_initmount0", value, sizeof(value))) {
		snprintf(workdir, sizeof(workdir), "/%s", value);
		mkdirs(workdir);
		if (mount("virtme.initmount0", workdir, "9p", 0,
			  "trans=virtio,version=9p2000.L,access=any,msize=524288"))
			klog("cannot mount the work dir %s: %s\n", workdir, strerror(errno));
	}
}

int main(void)
{
	sigset_t mask;

	if (getpid() != 1) {
		fprintf(stderr, "uaccess-agent: run me as init (init=) inside a guest\n");
		return 2;
	}
	setup();
	in_fd = open_port("virtme.stdin", O_RDONLY);
	out_fd = open_port("virtme.stdout", O_WRONLY);
	if (in_fd < 0 || out_fd < 0) {
		klog("no virtme.stdin/virtme.stdout ports: cannot talk to the host\n");
		power_off();
	}
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);

	struct utsname u;

	uname(&u);
	say("READY %s\n", u.release);
	serve();
	return 0;
}
