/*
 * Line echo server in C on epoll: the machine's practical limit, the yardstick
 * the Python servers are measured against.
 *
 *   epoll_echo [--host HOST] [--port PORT]      prints "listening on HOST:PORT"
 *
 * Same protocol as the kit's servers: every line ending in "\n" is sent back;
 * a partial line waits for its end. One thread, non-blocking sockets,
 * level-triggered epoll. Each connection has one buffer: the bytes before the
 * last newline are owed to the client, the rest is a line still arriving.
 * While replies are owed the connection is watched for writing only, so a
 * client that does not read cannot make the server buffer without end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)
#define MAX_LINE (1024 * 1024) /* a longer line closes the connection */

struct connection {
    int fd;
    char *buffer;
    size_t length; /* bytes held */
    size_t owed;   /* bytes up to and including the last newline: the replies */
    size_t sent;   /* of those, already sent */
    size_t capacity;
};

static int epoll_fd;

static void drop(struct connection *conn)
{
    close(conn->fd); /* close also takes it out of the epoll set */
    free(conn->buffer);
    free(conn);
}

static void watch(struct connection *conn, uint32_t events, int op)
{
    struct epoll_event event = {.events = events, .data.ptr = conn};
    epoll_ctl(epoll_fd, op, conn->fd, &event);
}

/* Send what is owed; returns -1 when the connection failed. */
static int send_owed(struct connection *conn)
{
    while (conn->sent < conn->owed) {
        ssize_t count = send(conn->fd, conn->buffer + conn->sent, conn->owed - conn->sent,
                             MSG_NOSIGNAL);
        if (count < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(conn, EPOLLOUT, EPOLL_CTL_MOD);
                return 0;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        conn->sent += (size_t)count;
    }
    /* All replies out: keep only the partial line, then listen again. */
    memmove(conn->buffer, conn->buffer + conn->owed, conn->length - conn->owed);
    conn->length -= conn->owed;
    conn->owed = conn->sent = 0;
    return 1;
}

/* Read what is there; returns -1 when the connection is over. */
static int receive(struct connection *conn)
{
    if (conn->capacity - conn->length < READ_SIZE) {
        if (conn->capacity >= MAX_LINE + READ_SIZE)
            return -1;
        conn->capacity *= 2;
        char *grown = realloc(conn->buffer, conn->capacity);
        if (!grown)
            return -1;
        conn->buffer = grown;
    }
    ssize_t count = recv(conn->fd, conn->buffer + conn->length, READ_SIZE, 0);
    if (count < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (count == 0)
        return -1; /* every reply owed was sent before we read again */
    char *newline = memrchr(conn->buffer + conn->length, '\n', (size_t)count);
    conn->length += (size_t)count;
    if (newline)
        conn->owed = (size_t)(newline - conn->buffer) + 1;
    if (!conn->owed)
        return 0;
    int sent = send_owed(conn);
    return sent < 0 ? -1 : 0;
}

static void accept_waiting(int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0)
            return; /* EAGAIN: none left; anything else: try at the next event */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection *conn = calloc(1, sizeof *conn);
        if (conn)
            conn->buffer = malloc(2 * READ_SIZE);
        if (!conn || !conn->buffer) {
            free(conn);
            close(fd);
            continue;
        }
        conn->fd = fd;
        conn->capacity = 2 * READ_SIZE;
        watch(conn, EPOLLIN, EPOLL_CTL_ADD);
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--idle-timeout") != 0) {
            fprintf(stderr, "usage: %s [--host HOST] [--port PORT]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "not an IPv4 address: %s\n", host);
        return 2;
    }
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(listener, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("listening on %s:%d\n", host, ntohs(address.sin_port));
    fflush(stdout);

    epoll_fd = epoll_create1(0);
    /* data.ptr NULL marks the listener; every other entry is a connection. */
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event events[256];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, 256, -1);
        for (int i = 0; i < ready; i++) {
            struct connection *conn = events[i].data.ptr;
            if (!conn) {
                accept_waiting(listener);
                continue;
            }
            int outcome;
            if (conn->owed) {
                outcome = send_owed(conn);
                if (outcome == 1)
                    watch(conn, EPOLLIN, EPOLL_CTL_MOD);
            } else {
                outcome = receive(conn);
            }
            if (outcome < 0)
                drop(conn);
        }
    }
}
