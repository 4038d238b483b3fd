/*
 * wan-link: a user-space Ethernet switch whose ports are TAP devices, each
 * port a link with its own one-way delay, loss and rate. The kernel here has
 * no netem qdisc, so the WAN benchmark emulates its links in this process:
 * a frame from port A to port B leaves A's uplink (serialised at A's rate,
 * dropped with A's loss), travels A's delay plus B's delay, and enters B's
 * downlink (serialised at B's rate, dropped with B's loss). Each direction of
 * a link has a drop-tail queue bounded in bytes, as a router's would be.
 *
 * Usage: wan-link [-s seed] NAME:DELAY_MS:LOSS_PERCENT:RATE_MBIT[:QUEUE_KB] ...
 * It creates one TAP device per argument, prints "ready" on stdout, and
 * forwards frames until SIGTERM or SIGINT. The caller moves each device
 * into its namespace after "ready" (the open descriptor stays valid).
 * Statistics go to stderr on exit: frames and bytes forwarded and dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define MAX_FRAME 1600
#define MAX_EVENTS 65536

typedef struct {
  int fd;
  char name[IFNAMSIZ];
  double delay;      /* one-way, seconds */
  double loss;       /* 0..1 */
  double rate;       /* bytes per second, 0 = unlimited */
  double queue;      /* bytes per direction */
  double up_busy;    /* when the uplink is free */
  double down_busy;  /* when the downlink is free */
  unsigned char mac[6];
  int mac_known;
  uint64_t in_frames, out_frames, dropped_loss, dropped_queue;
} port_t;

/* A frame in flight: at `t` it reaches the downlink of `to` (stage 1) or
 * leaves the downlink of `to` for its TAP device (stage 2). */
typedef struct {
  double t;
  int to;
  int stage;
  int len;
  unsigned char data[MAX_FRAME];
} event_t;

static port_t ports[MAX_PORTS];
static int nports;
static event_t *heap[MAX_EVENTS];
static int nheap;
static event_t *free_list[MAX_EVENTS];
static int nfree;
static volatile sig_atomic_t stop;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible loss for a given seed. */
static double uniform(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static void heap_push(event_t *e) {
  int i = nheap++;
  while (i > 0) {
    int p = (i - 1) / 2;
    if (heap[p]->t <= e->t) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = e;
}

static event_t *heap_pop(void) {
  event_t *top = heap[0];
  event_t *last = heap[--nheap];
  int i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= nheap) break;
    if (c + 1 < nheap && heap[c + 1]->t < heap[c]->t) c++;
    if (last->t <= heap[c]->t) break;
    heap[i] = heap[c];
    i = c;
  }
  if (nheap > 0) heap[i] = last;
  return top;
}

static event_t *alloc_event(void) {
  if (nfree > 0) return free_list[--nfree];
  return malloc(sizeof(event_t));
}

static void free_event(event_t *e) {
  if (nfree < MAX_EVENTS) free_list[nfree++] = e;
  else free(e);
}

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Serialise `len` bytes on a direction whose queue frees at *busy: the time
 * the last bit leaves, or a negative value when the queue is full. */
static double serialise(port_t *p, double *busy, double at, int len) {
  double start = *busy > at ? *busy : at;
  if (p->rate <= 0) return at;
  if ((start - at) * p->rate > p->queue) return -1;
  *busy = start + (double)len / p->rate;
  return *busy;
}

static void enqueue(int from, int to, const unsigned char *data, int len, double at) {
  port_t *a = &ports[from], *b = &ports[to];
  if (nheap >= MAX_EVENTS) { a->dropped_queue++; return; }
  if (a->loss > 0 && uniform() < a->loss) { a->dropped_loss++; return; }
  double left = serialise(a, &a->up_busy, at, len);
  if (left < 0) { a->dropped_queue++; return; }
  event_t *e = alloc_event();
  if (e == NULL) return;
  e->t = left + a->delay + b->delay;
  e->to = to;
  e->stage = 1;
  e->len = len;
  memcpy(e->data, data, (size_t)len);
  heap_push(e);
}

static void forward(int from, const unsigned char *frame, int len, double at) {
  const unsigned char *dst = frame, *src = frame + 6;
  port_t *p = &ports[from];
  memcpy(p->mac, src, 6);
  p->mac_known = 1;
  p->in_frames++;
  int broadcast = (dst[0] & 1) != 0;
  for (int i = 0; i < nports; i++) {
    if (i == from) continue;
    if (!broadcast && ports[i].mac_known && memcmp(ports[i].mac, dst, 6) != 0) continue;
    enqueue(from, i, frame, len, at);
    if (!broadcast && ports[i].mac_known) break;
  }
}

static void on_signal(int sig) { (void)sig; stop = 1; }

static int parse_port(const char *arg, port_t *p) {
  char buf[256];
  strncpy(buf, arg, sizeof buf - 1);
  buf[sizeof buf - 1] = 0;
  char *fields[5] = {0};
  int n = 0;
  for (char *tok = strtok(buf, ":"); tok != NULL && n < 5; tok = strtok(NULL, ":")) fields[n++] = tok;
  if (n < 4 || strlen(fields[0]) >= IFNAMSIZ) return -1;
  strcpy(p->name, fields[0]);
  p->delay = atof(fields[1]) / 1000.0;
  p->loss = atof(fields[2]) / 100.0;
  p->rate = atof(fields[3]) * 1e6 / 8.0;
  p->queue = (n == 5 ? atof(fields[4]) : 256.0) * 1024.0;
  return (p->delay < 0 || p->loss < 0 || p->loss > 1 || p->rate < 0) ? -1 : 0;
}

int main(int argc, char **argv) {
  int argi = 1;
  if (argc > 2 && strcmp(argv[1], "-s") == 0) {
    rng_state ^= strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
    argi = 3;
  }
  if (argc - argi < 2 || argc - argi > MAX_PORTS) {
    fprintf(stderr, "usage: wan-link [-s seed] NAME:DELAY_MS:LOSS_PERCENT:RATE_MBIT[:QUEUE_KB] (two or more)\n");
    return 2;
  }
  for (int i = argi; i < argc; i++) {
    port_t *p = &ports[nports];
    if (parse_port(argv[i], p) < 0) { fprintf(stderr, "wan-link: bad port spec '%s'\n", argv[i]); return 2; }
    p->fd = open_tap(p->name);
    if (p->fd < 0) { fprintf(stderr, "wan-link: cannot create TAP %s: %s\n", p->name, strerror(errno)); return 1; }
    nports++;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);

  struct pollfd fds[MAX_PORTS];
  unsigned char frame[MAX_FRAME];
  while (!stop) {
    double t = now_s();
    while (nheap > 0 && heap[0]->t <= t) {
      event_t *e = heap_pop();
      port_t *b = &ports[e->to];
      if (e->stage == 1) {
        if (b->loss > 0 && uniform() < b->loss) { b->dropped_loss++; free_event(e); continue; }
        double left = serialise(b, &b->down_busy, e->t, e->len);
        if (left < 0) { b->dropped_queue++; free_event(e); continue; }
        e->t = left;
        e->stage = 2;
        heap_push(e);
      } else {
        if (write(b->fd, e->data, (size_t)e->len) == e->len) b->out_frames++;
        else b->dropped_queue++;
        free_event(e);
      }
    }
    int timeout = 100;
    if (nheap > 0) {
      double wait = heap[0]->t - now_s();
      timeout = wait <= 0 ? 0 : (int)(wait * 1000.0);
      if (timeout > 100) timeout = 100;
    }
    for (int i = 0; i < nports; i++) { fds[i].fd = ports[i].fd; fds[i].events = POLLIN; fds[i].revents = 0; }
    int ready = poll(fds, (nfds_t)nports, timeout);
    if (ready < 0 && errno != EINTR) { perror("wan-link: poll"); break; }
    double at = now_s();
    for (int i = 0; i < nports && ready > 0; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      for (int k = 0; k < 64; k++) {
        ssize_t len = read(ports[i].fd, frame, sizeof frame);
        if (len < 14) break;
        forward(i, frame, (int)len, at);
      }
    }
  }
  for (int i = 0; i < nports; i++) {
    port_t *p = &ports[i];
    fprintf(stderr, "%s in=%llu out=%llu lost=%llu queue-drops=%llu\n", p->name,
            (unsigned long long)p->in_frames, (unsigned long long)p->out_frames,
            (unsigned long long)p->dropped_loss, (unsigned long long)p->dropped_queue);
  }
  return 0;
}
