/* SPDX-License-Identifier: MIT */
/*
 * The groups follow systemd's src/shared/seccomp-util.c (v254), so a policy
 * written for a systemd unit means the same here.  Names of other
 * architectures (mmap2, *_time64, s390_*) are kept as systemd has them: the
 * filter compiler skips what the native architecture lacks.
 */
#include "policy/syscall_groups.h"

#include <string.h>

#include "common/util.h"

const struct sbox_syscall_group sbox_syscall_groups[] = {
	{ "@default", "calls every process needs, always allowed by allow lists",
	  "arch_prctl brk cacheflush clock_getres clock_getres_time64 clock_gettime "
	  "clock_gettime64 clock_nanosleep clock_nanosleep_time64 execve exit exit_group "
	  "futex futex_time64 futex_waitv get_robust_list get_thread_area getegid getegid32 "
	  "geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid "
	  "getppid getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getsid "
	  "gettid gettimeofday getuid getuid32 membarrier mmap mmap2 mprotect munmap nanosleep "
	  "pause prlimit64 restart_syscall riscv_flush_icache rseq rt_sigreturn "
	  "sched_getaffinity sched_yield set_robust_list set_thread_area set_tid_address "
	  "set_tls sigreturn time ugetrlimit" },
	{ "@aio", "asynchronous I/O, io_uring included",
	  "io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup "
	  "io_submit io_uring_enter io_uring_register io_uring_setup" },
	{ "@basic-io", "reading, writing, seeking, duplicating and closing fds",
	  "_llseek close close_range dup dup2 dup3 lseek pread64 preadv preadv2 pwrite64 "
	  "pwritev pwritev2 read readv write writev" },
	{ "@chown", "changing the owner of files",
	  "chown chown32 fchown fchown32 fchownat lchown lchown32" },
	{ "@clock", "setting the system clock",
	  "adjtimex clock_adjtime clock_adjtime64 clock_settime clock_settime64 settimeofday "
	  "stime" },
	{ "@cpu-emulation", "emulating other CPU modes",
	  "modify_ldt subpage_prot switch_endian vm86 vm86old" },
	{ "@debug", "debugging, tracing, performance monitoring",
	  "lookup_dcookie perf_event_open pidfd_getfd ptrace rtas s390_runtime_instr "
	  "sys_debug_setcontext" },
	{ "@file-system", "files, directories, their metadata and inotify",
	  "access chdir chmod close creat faccessat faccessat2 fallocate fchdir fchmod "
	  "fchmodat fchmodat2 fcntl fcntl64 fgetxattr flistxattr fremovexattr fsetxattr fstat "
	  "fstat64 fstatat64 fstatfs fstatfs64 ftruncate ftruncate64 futimesat getcwd getdents "
	  "getdents64 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch "
	  "lgetxattr link linkat listxattr llistxattr lremovexattr lsetxattr lstat lstat64 "
	  "mkdir mkdirat mknod mknodat mmap mmap2 munmap newfstatat oldfstat oldlstat oldstat "
	  "open openat openat2 readlink readlinkat removexattr rename renameat renameat2 rmdir "
	  "setxattr stat stat64 statfs statfs64 statx symlink symlinkat truncate truncate64 "
	  "unlink unlinkat utime utimensat utimensat_time64 utimes" },
	{ "@io-event", "waiting for events on fds",
	  "_newselect epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait "
	  "epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 poll ppoll ppoll_time64 "
	  "pselect6 pselect6_time64 select" },
	{ "@ipc", "SysV IPC, POSIX message queues, pipes, memfds, cross-process memory",
	  "ipc memfd_create mq_getsetattr mq_notify mq_open mq_timedreceive "
	  "mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink msgctl msgget "
	  "msgrcv msgsnd pipe pipe2 process_madvise process_vm_readv process_vm_writev semctl "
	  "semget semop semtimedop semtimedop_time64 shmat shmctl shmdt shmget" },
	{ "@keyring", "the kernel keyring", "add_key keyctl request_key" },
	{ "@memlock", "locking memory", "mlock mlock2 mlockall munlock munlockall" },
	{ "@module", "loading and unloading kernel modules",
	  "delete_module finit_module init_module" },
	{ "@mount", "mounting, the new mount API, chroot, pivot_root",
	  "chroot fsconfig fsmount fsopen fspick mount mount_setattr move_mount open_tree "
	  "open_tree_attr pivot_root umount umount2" },
	{ "@network-io", "sockets",
	  "accept accept4 bind connect getpeername getsockname getsockopt listen recv "
	  "recvfrom recvmmsg recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt "
	  "shutdown socket socketcall socketpair" },
	{ "@obsolete", "calls no current program needs",
	  "_sysctl afs_syscall bdflush break create_module ftime get_kernel_syms getpmsg gtty "
	  "idle lock mpx prof profil putpmsg query_module security sgetmask ssetmask stime stty "
	  "sysfs tuxcall ulimit uselib ustat vserver" },
	{ "@pkey", "memory protection keys", "pkey_alloc pkey_free pkey_mprotect" },
	{ "@privileged", "calls that need capabilities",
	  "@chown @clock @module @raw-io @reboot @swap _sysctl acct bpf capset chroot "
	  "fanotify_init fanotify_mark nfsservctl open_by_handle_at pivot_root quotactl "
	  "quotactl_fd setdomainname setfsuid setfsuid32 setgroups setgroups32 sethostname "
	  "setresuid setresuid32 setreuid setreuid32 setuid setuid32 vhangup" },
	{ "@process", "processes, threads and namespaces",
	  "capget clone clone3 execveat fork getrusage kill pidfd_open pidfd_send_signal prctl "
	  "rt_sigqueueinfo rt_tgsigqueueinfo setns swapcontext tgkill times tkill unshare vfork "
	  "wait4 waitid waitpid" },
	{ "@raw-io", "raw I/O port and PCI access",
	  "ioperm iopl pciconfig_iobase pciconfig_read pciconfig_write s390_pci_mmio_read "
	  "s390_pci_mmio_write" },
	{ "@reboot", "rebooting and kexec", "kexec_file_load kexec_load reboot" },
	{ "@resources", "changing resource limits, scheduling and memory placement",
	  "ioprio_set mbind migrate_pages move_pages nice sched_setaffinity sched_setattr "
	  "sched_setparam sched_setscheduler set_mempolicy set_mempolicy_home_node setpriority "
	  "setrlimit" },
	{ "@sandbox", "sandboxing oneself: seccomp, landlock",
	  "landlock_add_rule landlock_create_ruleset landlock_restrict_self seccomp" },
	{ "@setuid", "changing user and group ids",
	  "setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid setresgid32 "
	  "setresuid setresuid32 setreuid setreuid32 setuid setuid32" },
	{ "@signal", "signal handling",
	  "rt_sigaction rt_sigpending rt_sigprocmask rt_sigsuspend rt_sigtimedwait "
	  "rt_sigtimedwait_time64 sigaction sigaltstack signal signalfd signalfd4 sigpending "
	  "sigprocmask sigsuspend" },
	{ "@swap", "swap devices", "swapoff swapon" },
	{ "@sync", "flushing files to storage",
	  "fdatasync fsync msync sync sync_file_range sync_file_range2 syncfs" },
	{ "@timer", "timers and alarms",
	  "alarm getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime "
	  "timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime "
	  "timerfd_gettime64 timerfd_settime timerfd_settime64 times" },
	{ "@system-service", "what a typical service needs (an allow list's usual base)",
	  "@aio @basic-io @chown @default @file-system @io-event @ipc @keyring @memlock "
	  "@network-io @process @resources @setuid @signal @sync @timer arm_fadvise64_64 "
	  "capget capset copy_file_range fadvise64 fadvise64_64 flock get_mempolicy getcpu "
	  "getpriority ioctl ioprio_get kcmp madvise mremap name_to_handle_at oldolduname "
	  "olduname personality readahead readdir remap_file_pages sched_get_priority_max "
	  "sched_get_priority_min sched_getattr sched_getparam sched_getscheduler "
	  "sched_rr_get_interval sched_rr_get_interval_time64 sendfile sendfile64 setfsgid "
	  "setfsgid32 setfsuid setfsuid32 setpgid setsid splice sysinfo tee umask uname "
	  "userfaultfd vmsplice" },
};

const size_t sbox_n_syscall_groups = SBOX_ARRAY_SIZE(sbox_syscall_groups);

const struct sbox_syscall_group *sbox_syscall_group_find(const char *name)
{
	for (size_t i = 0; i < sbox_n_syscall_groups; i++)
		if (strcmp(sbox_syscall_groups[i].name, name) == 0)
			return &sbox_syscall_groups[i];
	return NULL;
}

static int expand(const struct sbox_syscall_group *g, int depth,
		  int (*fn)(const char *syscall, void *arg), void *arg)
{
	const char *s = g->members;

	/* The tables nest two deep; more would be a loop. */
	if (depth > 4)
		return -1;
	while (*s) {
		size_t len = strcspn(s, " ");
		char name[64];
		int r;

		if (len > 0 && len < sizeof(name)) {
			memcpy(name, s, len);
			name[len] = '\0';
			if (name[0] == '@') {
				const struct sbox_syscall_group *sub = sbox_syscall_group_find(name);

				r = sub ? expand(sub, depth + 1, fn, arg) : -1;
			} else {
				r = fn(name, arg);
			}
			if (r != 0)
				return r;
		}
		s += len;
		while (*s == ' ')
			s++;
	}
	return 0;
}

int sbox_syscall_group_expand(const char *name, int (*fn)(const char *syscall, void *arg),
			      void *arg)
{
	const struct sbox_syscall_group *g = sbox_syscall_group_find(name);

	return g ? expand(g, 0, fn, arg) : -1;
}

static int is_name(const char *syscall, void *arg)
{
	return strcmp(syscall, (const char *)arg) == 0 ? 1 : 0;
}

int sbox_syscall_group_has(const char *group, const char *syscall)
{
	return sbox_syscall_group_expand(group, is_name, (void *)syscall) == 1;
}
