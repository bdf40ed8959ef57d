/* fs_full_helper.c — what the guest's fs-full script needs beyond busybox (no applet
 * takes POSIX record locks or sets nanosecond times). Built by tests/guest/fs-full-test.sh
 * as a static i386 program and put into the guest's root tree as /fs-full.bin/helper.
 *   helper utimens FILE SEC NSEC   sets FILE's atime and mtime to SEC.NSEC
 *   helper lock FILE               the fcntl lock check below
 * lock: the parent write-locks bytes 0..99 of FILE; a child process then must see that lock
 * (F_GETLK names the parent and F_WRLCK), be refused an overlapping lock (F_SETLK fails
 * with EAGAIN or EACCES), get a disjoint range, and get the first range once the parent
 * unlocked it. Exits 0 when every step behaved so; prints the first wrong step else. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int set_lock(int fd, short type, off_t start, off_t len)
{
    struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    return fcntl(fd, F_SETLK, &lock);
}

static int fail(const char *step)
{
    fprintf(stderr, "fs-full-helper: %s (errno %d)\n", step, errno);
    return 1;
}

/* The child's half; `parent` holds a write lock on 0..99 until told by `go`. */
static int child_checks(const char *path, pid_t parent, int go_read_end, int done_write_end)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return fail("child open");
    struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5 };
    if (fcntl(fd, F_GETLK, &probe) != 0)
        return fail("F_GETLK");
    if (probe.l_type != F_WRLCK || probe.l_pid != parent)
        return fail("F_GETLK does not report the parent's write lock");
    if (set_lock(fd, F_WRLCK, 50, 10) == 0)
        return fail("overlapping F_SETLK was granted");
    if (errno != EAGAIN && errno != EACCES)
        return fail("overlapping F_SETLK failed with an unexpected errno");
    if (set_lock(fd, F_WRLCK, 200, 10) != 0)
        return fail("disjoint F_SETLK was refused");
    char token = 'c';
    if (write(done_write_end, &token, 1) != 1 || read(go_read_end, &token, 1) != 1)
        return fail("child pipe");
    if (set_lock(fd, F_WRLCK, 50, 10) != 0)
        return fail("F_SETLK after the parent's unlock was refused");
    return 0;
}

static int lock_checks(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return fail("open");
    if (set_lock(fd, F_WRLCK, 0, 100) != 0)
        return fail("parent F_SETLK");
    int go[2], done[2];
    if (pipe(go) != 0 || pipe(done) != 0)
        return fail("pipe");
    pid_t child = fork();
    if (child < 0)
        return fail("fork");
    if (child == 0)
        _exit(child_checks(path, getppid(), go[0], done[1]));
    close(done[1]);   /* so that a child that failed early reads as end of file */
    close(go[0]);
    char token;
    if (read(done[0], &token, 1) == 1) {
        if (set_lock(fd, F_UNLCK, 0, 100) != 0)
            return fail("parent F_UNLCK");
        if (write(go[1], &token, 1) != 1)
            return fail("parent pipe");
    }
    int status = 1;
    if (waitpid(child, &status, 0) != child)
        return fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* utimensat_time64 directly: the small kernel has no 32-bit time syscalls
 * (CONFIG_COMPAT_32BIT_TIME is off), which the i386 libc may still pick. */
struct kernel_timespec64 {
    long long tv_sec;
    long long tv_nsec;
};

static int set_times_ns(const char *path, const char *seconds, const char *nanoseconds)
{
    struct kernel_timespec64 when = { .tv_sec = strtoll(seconds, NULL, 10),
                                      .tv_nsec = strtoll(nanoseconds, NULL, 10) };
    struct kernel_timespec64 both[2] = { when, when };
    long done = syscall(SYS_utimensat_time64, AT_FDCWD, path, both, 0);
    return done == 0 ? 0 : fail("utimensat_time64");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "lock") == 0)
        return lock_checks(argv[2]);
    if (argc == 5 && strcmp(argv[1], "utimens") == 0)
        return set_times_ns(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: helper lock FILE | helper utimens FILE SEC NSEC\n");
    return 2;
}
