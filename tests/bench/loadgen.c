/*
 * Echo load generator: N connections doing blocking-style request/reply
 * ping-pong against a line echo server, all driven by one epoll loop.
 *
 *   loadgen HOST PORT CONNECTIONS SIZE DURATION WARMUP [REPLY_TIMEOUT]
 *
 * Each connection sends b"x" * (SIZE - 1) + b"\n", waits until SIZE bytes
 * came back, checks they are the same bytes, records the latency and sends
 * again (the vmbench / uvloop echo benchmark). Replies finished during the
 * WARMUP seconds are not counted; those of the next DURATION seconds are.
 *
 * stdout: "measuring" when the counted window opens, "measured" when it
 * closes (so a caller can sample the server's CPU time over exactly that
 * window), then one JSON line:
 *   {"messages", "msgs_per_s", "p50_ms", "p99_ms", "errors", "cpu_s",
 *    "seconds", "first_error"}
 * Exit status 0 only when there was no error. A connection that is refused,
 * closed, reset, sent wrong bytes, or left without a reply for REPLY_TIMEOUT
 * seconds (default 5) is an error; every wait is bounded, so a server that
 * stops answering ends the run with an error instead of a hang.
 *
 * One thread is enough: the generator is pinned to one core, and one epoll
 * loop in C costs far less per message than any server it measures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 50 /* how often silent connections are checked for a timeout */

enum phase { CONNECTING, WAITING_REPLY, DONE };

struct connection {
    int fd;
    enum phase phase;
    size_t sent;     /* bytes of the current message sent so far */
    size_t received; /* bytes of its reply received so far */
    double sent_at;  /* when the current message started to go out */
    int want_write;  /* EPOLLOUT registered: a send was left unfinished */
};

static struct {
    size_t size;
    char *message;
    char *scratch; /* receive buffer, a little larger than a message */
    size_t scratch_size;
    double reply_timeout;
    int epoll_fd;
    int errors;
    char first_error[256];
    double *latencies; /* seconds, of the counted replies only */
    size_t counted, latency_cap;
    int alive;
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(struct connection *conn, const char *format, ...)
{
    run.errors++;
    if (run.errors == 1) {
        va_list args;
        va_start(args, format);
        vsnprintf(run.first_error, sizeof run.first_error, format, args);
        va_end(args);
    }
    if (conn->fd >= 0) {
        close(conn->fd); /* close also takes it out of the epoll set */
        conn->fd = -1;
    }
    conn->phase = DONE;
    run.alive--;
}

static void record_latency(double seconds)
{
    if (run.counted == run.latency_cap) {
        run.latency_cap = run.latency_cap ? run.latency_cap * 2 : 1 << 16;
        run.latencies = realloc(run.latencies, run.latency_cap * sizeof *run.latencies);
        if (!run.latencies) {
            perror("realloc");
            exit(2);
        }
    }
    run.latencies[run.counted++] = seconds;
}

static void set_write_interest(struct connection *conn, int want)
{
    if (conn->want_write == want)
        return;
    struct epoll_event event = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = conn};
    epoll_ctl(run.epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
    conn->want_write = want;
}

/* Send what the socket takes now of the current message. */
static void push_message(struct connection *conn)
{
    while (conn->sent < run.size) {
        ssize_t count = send(conn->fd, run.message + conn->sent, run.size - conn->sent,
                             MSG_NOSIGNAL);
        if (count < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_write_interest(conn, 1);
                return;
            }
            if (errno == EINTR)
                continue;
            fail(conn, "send failed: %s", strerror(errno));
            return;
        }
        conn->sent += (size_t)count;
    }
    set_write_interest(conn, 0);
}

static void start_message(struct connection *conn)
{
    conn->phase = WAITING_REPLY;
    conn->sent = 0;
    conn->received = 0;
    conn->sent_at = now();
    push_message(conn);
}

/* The start of what came, printable, for an error message. */
static void show_bytes(char *out, size_t room, const char *data, size_t length)
{
    size_t used = 0;
    for (size_t i = 0; i < length && used + 1 < room; i++)
        out[used++] = data[i] >= 32 && data[i] < 127 && data[i] != '"' && data[i] != '\\'
                          ? data[i]
                          : '.';
    out[used] = '\0';
}

/* Read the reply; returns 1 when a whole, correct reply has arrived. */
static int pull_reply(struct connection *conn)
{
    for (;;) {
        ssize_t count = recv(conn->fd, run.scratch, run.scratch_size, 0);
        if (count < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            fail(conn, "recv failed: %s", strerror(errno));
            return 0;
        }
        if (count == 0) {
            fail(conn, "the server closed a connection after %zu of %zu reply bytes",
                 conn->received, run.size);
            return 0;
        }
        /* Ping-pong: nothing may come beyond the reply to the message sent. */
        if (conn->received + (size_t)count > run.size) {
            fail(conn, "the server sent %zu bytes for a %zu-byte message",
                 conn->received + (size_t)count, run.size);
            return 0;
        }
        if (memcmp(run.scratch, run.message + conn->received, (size_t)count) != 0) {
            char shown[61];
            show_bytes(shown, sizeof shown, run.scratch, (size_t)count);
            fail(conn, "the reply differs from the message sent, within bytes %zu to %zu: \"%s\"",
                 conn->received, conn->received + (size_t)count, shown);
            return 0;
        }
        conn->received += (size_t)count;
        if (conn->received == run.size)
            return 1;
    }
}

static void finish_connect(struct connection *conn)
{
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error) {
        fail(conn, "connect failed: %s", strerror(error));
        return;
    }
    conn->phase = DONE; /* connected; waits for the start signal */
    set_write_interest(conn, 0);
}

static int open_connection(struct connection *conn, const struct sockaddr_in *address)
{
    conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (conn->fd < 0) {
        fail(conn, "socket failed: %s", strerror(errno));
        return -1;
    }
    /* Without it a message that leaves in two segments can wait for a
     * delayed ACK (40 ms) and we would measure Nagle, not the server. */
    int one = 1;
    setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn->phase = CONNECTING;
    conn->want_write = 1;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = conn};
    epoll_ctl(run.epoll_fd, EPOLL_CTL_ADD, conn->fd, &event);
    if (connect(conn->fd, (const struct sockaddr *)address, sizeof *address) < 0 &&
        errno != EINPROGRESS) {
        fail(conn, "connect failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted latencies, in milliseconds. */
static double percentile_ms(size_t percent)
{
    if (run.counted == 0)
        return 0.0;
    size_t rank = (run.counted * percent + 99) / 100; /* ceil(n * p / 100), at least 1 */
    return run.latencies[rank - 1] * 1000.0;
}

static void check_silent(struct connection *conns, int total, double at)
{
    for (int i = 0; i < total; i++) {
        struct connection *conn = &conns[i];
        if (conn->phase == WAITING_REPLY && at - conn->sent_at > run.reply_timeout)
            fail(conn, "no reply within %.1f s (%zu of %zu bytes back)", run.reply_timeout,
                 conn->received, run.size);
        else if (conn->phase == CONNECTING && at - conn->sent_at > run.reply_timeout)
            fail(conn, "connect not finished within %.1f s", run.reply_timeout);
    }
}

/* Run the loop until `until`; while `sending`, every reply starts the next message. */
static void drive(struct connection *conns, int total, double until, int sending,
                  double count_from, double count_until, int stop_when_idle)
{
    struct epoll_event events[256];
    double next_check = now() + TICK_MS / 1000.0;
    while (run.alive > 0) {
        double at = now();
        if (at >= until)
            return;
        if (stop_when_idle) {
            int busy = 0;
            for (int i = 0; i < total && !busy; i++)
                busy = conns[i].phase == WAITING_REPLY || conns[i].phase == CONNECTING;
            if (!busy)
                return;
        }
        if (at >= next_check) {
            check_silent(conns, total, at);
            next_check = at + TICK_MS / 1000.0;
        }
        int wait_ms = (int)((until - at) * 1000.0) + 1;
        if (wait_ms > TICK_MS)
            wait_ms = TICK_MS;
        int ready = epoll_wait(run.epoll_fd, events, 256, wait_ms);
        if (ready < 0 && errno != EINTR) {
            perror("epoll_wait");
            exit(2);
        }
        for (int i = 0; i < ready; i++) {
            struct connection *conn = events[i].data.ptr;
            if (conn->fd < 0)
                continue; /* failed earlier in this batch */
            if (conn->phase == CONNECTING) {
                if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    finish_connect(conn);
                continue;
            }
            if (conn->phase != WAITING_REPLY) {
                /* Idle between runs, yet readable: the server spoke unasked
                 * or closed the connection. */
                fail(conn, "the server sent data or closed while no message was out");
                continue;
            }
            if (events[i].events & EPOLLOUT)
                push_message(conn);
            if (conn->fd < 0 || !(events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            if (!pull_reply(conn))
                continue;
            double done = now();
            if (done >= count_from && done < count_until)
                record_latency(done - conn->sent_at);
            if (sending)
                start_message(conn);
            else
                conn->phase = DONE;
        }
    }
}

static int parse_address(const char *host, const char *port, struct sockaddr_in *address)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found;
    if (getaddrinfo(host, port, &hints, &found) != 0)
        return -1;
    *address = *(struct sockaddr_in *)found->ai_addr;
    freeaddrinfo(found);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 7 || argc > 8) {
        fprintf(stderr,
                "usage: %s HOST PORT CONNECTIONS SIZE DURATION WARMUP [REPLY_TIMEOUT]\n",
                argv[0]);
        return 2;
    }
    struct sockaddr_in address;
    if (parse_address(argv[1], argv[2], &address) < 0) {
        fprintf(stderr, "cannot resolve %s:%s\n", argv[1], argv[2]);
        return 2;
    }
    int total = atoi(argv[3]);
    long size = atol(argv[4]);
    double duration = atof(argv[5]), warmup = atof(argv[6]);
    run.reply_timeout = argc == 8 ? atof(argv[7]) : 5.0;
    if (total < 1 || size < 1 || duration <= 0 || warmup < 0 || run.reply_timeout <= 0) {
        fprintf(stderr, "CONNECTIONS and SIZE must be >= 1, DURATION and REPLY_TIMEOUT > 0\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    run.size = (size_t)size;
    run.message = malloc(run.size);
    run.scratch_size = run.size + 4096; /* room to notice a reply that is too long */
    run.scratch = malloc(run.scratch_size);
    struct connection *conns = calloc((size_t)total, sizeof *conns);
    if (!run.message || !run.scratch || !conns) {
        perror("malloc");
        return 2;
    }
    memset(run.message, 'x', run.size - 1);
    run.message[run.size - 1] = '\n';
    run.epoll_fd = epoll_create1(0);
    run.alive = total;

    double started = now();
    for (int i = 0; i < total; i++) {
        conns[i].sent_at = started; /* the connect deadline counts from here */
        open_connection(&conns[i], &address);
    }
    drive(conns, total, started + run.reply_timeout, 0, 0, 0, 1);

    for (int i = 0; i < total; i++)
        if (conns[i].fd >= 0)
            start_message(&conns[i]);
    double window_start = now() + warmup;
    double window_end = window_start + duration;
    drive(conns, total, window_start, 1, 0, 0, 0);
    double cpu_start = cpu_now();
    printf("measuring\n");
    fflush(stdout);
    drive(conns, total, window_end, 1, window_start, window_end, 0);
    double cpu_spent = cpu_now() - cpu_start;
    double seconds = now() - window_start;
    if (seconds > duration)
        seconds = duration; /* replies after the window are not counted */
    if (seconds < 0)
        seconds = 0; /* every connection failed before the window opened */
    printf("measured\n");
    fflush(stdout);
    /* The replies still owed must come too: a server that stops answering at
     * the very end is an error as well. */
    drive(conns, total, now() + run.reply_timeout + 0.1, 0, 0, 0, 1);
    for (int i = 0; i < total; i++)
        if (conns[i].phase == WAITING_REPLY)
            fail(&conns[i], "no reply within %.1f s after the run (%zu of %zu bytes back)",
                 run.reply_timeout, conns[i].received, run.size);

    qsort(run.latencies, run.counted, sizeof *run.latencies, compare_doubles);
    char escaped[sizeof run.first_error * 2];
    size_t out = 0;
    for (const char *c = run.first_error; *c && out < sizeof escaped - 2; c++) {
        if (*c == '"' || *c == '\\')
            escaped[out++] = '\\';
        escaped[out++] = *c;
    }
    escaped[out] = '\0';
    printf("{\"messages\": %zu, \"msgs_per_s\": %.1f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, "
           "\"errors\": %d, \"cpu_s\": %.4f, \"seconds\": %.4f, \"first_error\": \"%s\"}\n",
           run.counted, seconds > 0 ? (double)run.counted / seconds : 0.0, percentile_ms(50),
           percentile_ms(99), run.errors, cpu_spent, seconds, escaped);
    if (run.errors)
        fprintf(stderr, "loadgen: %d error(s); first: %s\n", run.errors, run.first_error);
    for (int i = 0; i < total; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    return run.errors ? 1 : 0;
}
