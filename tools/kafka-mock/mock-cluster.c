/*
 * Hosts librdkafka's mock cluster (the broker side of the Kafka protocol, for tests) in a
 * small process that tests drive over stdin/stdout.
 *
 *   mock-cluster [BROKERS]          (default 3 brokers, each on 127.0.0.1:<random port>)
 *
 * On start it prints one line:  bootstrap HOST:PORT,HOST:PORT,...
 * Then it reads commands, one a line, and answers each with "ok ..." or "error ...":
 *   topic NAME PARTITIONS [REPLICATION]   create a topic (the mock has no CreateTopics API)
 *   down BROKER|all                       disconnect a broker and refuse new connections
 *   up BROKER|all                         accept connections again (the data is kept)
 *   rtt BROKER MS                         add a round-trip delay to a broker
 *   ping                                  answer "ok pong"
 *   quit                                  stop (as does end of input: the test died)
 *
 * Built by tools/kafka-mock/build.sh against Debian's librdkafka-dev.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int brokers = 3;

static void reply(const char *fmt, const char *a, const char *b) {
  printf(fmt, a ? a : "", b ? b : "");
  printf("\n");
  fflush(stdout);
}

static int each_broker(rd_kafka_mock_cluster_t *mc, const char *which, int up) {
  int from = 1, to = brokers;
  if (strcmp(which, "all") != 0) {
    char *end = NULL;
    long id = strtol(which, &end, 10);
    if (!end || *end || id < 1 || id > brokers) return -1;
    from = to = (int)id;
  }
  for (int id = from; id <= to; id++) {
    rd_kafka_resp_err_t err =
        up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
    if (err) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1) brokers = atoi(argv[1]);
  if (brokers < 1 || brokers > 16) {
    fprintf(stderr, "mock-cluster: brokers must be 1..16\n");
    return 2;
  }
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  /* The host client: the mock cluster lives inside it and must not outlive it. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "mock-cluster: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "mock-cluster: could not create the mock cluster\n");
    return 1;
  }
  /* ListOffsets v4+ replies are malformed in librdkafka 2.0.2's mock: cap it at v3. */
  rd_kafka_mock_set_apiversion(mc, 2 /* ListOffsets */, 0, 3);
  printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char cmd[32] = "", a[512] = "", b[64] = "", c[64] = "";
    int n = sscanf(line, "%31s %511s %63s %63s", cmd, a, b, c);
    if (n <= 0) continue;
    if (strcmp(cmd, "quit") == 0) break;
    if (strcmp(cmd, "ping") == 0) {
      reply("ok pong", NULL, NULL);
    } else if (strcmp(cmd, "topic") == 0 && n >= 3) {
      int partitions = atoi(b);
      int replication = n >= 4 ? atoi(c) : (brokers < 3 ? brokers : 3);
      rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, a, partitions, replication);
      if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        reply("error topic %s: %s", a, rd_kafka_err2str(err));
      else
        reply("ok topic %s", a, NULL);
    } else if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && n >= 2) {
      if (each_broker(mc, a, cmd[0] == 'u') != 0)
        reply("error no broker %s%s", a, NULL);
      else
        reply(cmd[0] == 'u' ? "ok up %s%s" : "ok down %s%s", a, NULL);
    } else if (strcmp(cmd, "rtt") == 0 && n >= 3) {
      if (rd_kafka_mock_broker_set_rtt(mc, atoi(a), atoi(b)))
        reply("error rtt %s%s", a, NULL);
      else
        reply("ok rtt %s %s", a, b);
    } else {
      reply("error unknown command: %s%s", cmd, NULL);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
