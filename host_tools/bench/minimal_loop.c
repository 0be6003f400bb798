/*
 * minimal_loop.c: minimal_loop.py's loop in C (the same frame, the same
 * system calls), the floor of one wake-up per 20 ms frame on this machine
 * without an interpreter. host_tools/bench/call.py builds it with gcc and
 * runs two of them talking to each other beside the calls it measures.
 *
 *   minimal_loop MY_PORT PEER_PORT INPUT.wav OUTPUT.raw
 *
 * Per frame: poll() with no descriptor until the frame's deadline
 * (deadlines 20 ms apart); read 320 bytes of the input WAV's samples (from
 * their start again at their end); send a 172-byte datagram (a 12-byte RTP header, then
 * the first 160 bytes read) to 127.0.0.1:PEER_PORT; read every datagram
 * waiting (a poll(0) before each read) and write its payload to the output
 * file. Runs until it is stopped (SIGTERM).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { FRAME_MS = 20, FRAME_BYTES = 320, PAYLOAD_BYTES = 160, HEADER_BYTES = 12 };
enum { WAV_HEADER_BYTES = 44 };

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MY_PORT PEER_PORT INPUT.wav OUTPUT.raw\n", argv[0]);
        return 2;
    }
    struct sockaddr_in mine = loopback(atoi(argv[1]));
    struct sockaddr_in peer = loopback(atoi(argv[2]));
    int endpoint = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (endpoint < 0 || bind(endpoint, (struct sockaddr *)&mine, sizeof mine) != 0) {
        perror("minimal_loop: bind");
        return 1;
    }
    FILE *source = fopen(argv[3], "rb");
    FILE *output = fopen(argv[4], "wb");
    if (source == NULL || output == NULL || fseek(source, WAV_HEADER_BYTES, SEEK_SET) != 0) {
        perror("minimal_loop: open");
        return 1;
    }
    unsigned char samples[FRAME_BYTES];
    unsigned char packet[HEADER_BYTES + PAYLOAD_BYTES] = {0x80};
    unsigned char received[2048];
    struct pollfd waiting = {.fd = endpoint, .events = POLLIN};
    uint16_t sequence = 0;
    long long deadline = now_ms();
    for (;;) {
        long long wait_ms = deadline - now_ms();
        if (wait_ms > 0) {
            poll(NULL, 0, (int)wait_ms);
            continue;
        }
        if (fread(samples, 1, FRAME_BYTES, source) < FRAME_BYTES) {
            fseek(source, WAV_HEADER_BYTES, SEEK_SET);
            fread(samples, 1, FRAME_BYTES, source);
        }
        sequence++;
        uint16_t sequence_be = htons(sequence);
        uint32_t timestamp_be = htonl((uint32_t)sequence * PAYLOAD_BYTES);
        memcpy(packet + 2, &sequence_be, 2);
        memcpy(packet + 4, &timestamp_be, 4);
        memcpy(packet + HEADER_BYTES, samples, PAYLOAD_BYTES);
        sendto(endpoint, packet, sizeof packet, 0, (struct sockaddr *)&peer, sizeof peer);
        while (poll(&waiting, 1, 0) > 0) {
            ssize_t length = recv(endpoint, received, sizeof received, 0);
            if (length > HEADER_BYTES)
                fwrite(received + HEADER_BYTES, 1, (size_t)(length - HEADER_BYTES), output);
        }
        deadline += FRAME_MS;
    }
}
