/*
 * paced_pcm.c: an LD_PRELOAD shim that makes ALSA playback block in real
 * time, like a sound card, on a device that never blocks (the "null" PCM).
 *
 * Why: baresip's alsa player is a thread that loops on "fill a period,
 * snd_pcm_writei() it" and relies on the device to block; on the null PCM
 * writei returns at once and the thread burns a core (PEERS.md). The
 * call benchmark (host_tools/bench/call.py) preloads this shim into
 * baresip so its player costs what it costs on a real card, with no sound
 * server in its process.
 *
 * What baresip 1.0's alsa.so calls (nm -D --undefined-only): to play,
 * snd_pcm_writei (and snd_pcm_prepare after -EPIPE, which the null PCM
 * never returns); to record, snd_pcm_readi. The bench's baresip records
 * from aufile (a WAV paced by its own thread), so only playback is paced.
 *
 * The model, per PCM: a device of the PCM's rate R and buffer size B frames
 * (from snd_pcm_hw_params_current) that starts playing at the first write.
 * After W frames have been written in total, a write returns once the
 * device has played W - B frames, at start + (W - B) / R: writes fill the
 * buffer at once, then each period waits for one period to play. The
 * wait is clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to that absolute
 * deadline, so sleep overshoot never accumulates. A writer that falls so
 * far behind that the buffer has run dry (an underrun on a card) restarts
 * the clock at that write, as a card's restart would, instead of letting
 * the writer burst to catch up; underruns are counted.
 *
 * Report: with PACED_PCM_REPORT=PATH in the environment, snd_pcm_close
 * appends one line per paced PCM to PATH:
 *   paced-pcm rate=R buffer=B frames=N seconds=S underruns=U
 * frames is every frame written, seconds the wall time (CLOCK_MONOTONIC)
 * from the first write's call to the last write's return; N / S is the
 * rate the writer achieved (R plus at most B frames over the whole time).
 *
 * Build: gcc -shared -fPIC -O2 -o paced_pcm.so paced_pcm.c -ldl -lasound
 * Use:   LD_PRELOAD=/path/paced_pcm.so baresip ...   (audio_player alsa,null)
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_PCMS 16
#define NS_PER_S 1000000000LL

struct paced {
	snd_pcm_t *pcm;          /* NULL: free slot */
	unsigned int rate;       /* frames per second */
	int64_t buffer_frames;   /* B */
	int64_t written;         /* W since the clock started */
	int64_t total_frames;    /* every frame written (report) */
	int64_t start_ns;        /* when the device started playing */
	int64_t first_ns;        /* the first write's call (report) */
	int64_t last_ns;         /* the last write's return (report) */
	unsigned long underruns;
};

static struct paced paced_pcms[MAX_PCMS];
static pthread_mutex_t paced_lock = PTHREAD_MUTEX_INITIALIZER;

typedef snd_pcm_sframes_t (*writei_function)(snd_pcm_t *, const void *,
					     snd_pcm_uframes_t);
typedef int (*close_function)(snd_pcm_t *);

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec;
}

static void sleep_until_ns(int64_t deadline_ns)
{
	struct timespec deadline;

	deadline.tv_sec = deadline_ns / NS_PER_S;
	deadline.tv_nsec = deadline_ns % NS_PER_S;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL)
	       == EINTR)
		;
}

static void *real_function(const char *name)
{
	void *function = dlsym(RTLD_NEXT, name);

	if (function == NULL) {
		fprintf(stderr, "paced_pcm: no %s in the next library\n", name);
		abort();
	}
	return function;
}

/* The slot of pcm, a new one filled from its hw params when create is set;
 * NULL when the table is full (that PCM then runs unpaced) or absent.
 * Called with paced_lock held. */
static struct paced *find_paced(snd_pcm_t *pcm, int create)
{
	struct paced *free_slot = NULL;
	snd_pcm_hw_params_t *params;
	snd_pcm_uframes_t buffer_frames = 0;
	unsigned int rate = 0;
	int direction = 0;
	int index;

	for (index = 0; index < MAX_PCMS; index++) {
		if (paced_pcms[index].pcm == pcm)
			return &paced_pcms[index];
		if (paced_pcms[index].pcm == NULL && free_slot == NULL)
			free_slot = &paced_pcms[index];
	}
	if (!create || free_slot == NULL)
		return NULL;
	snd_pcm_hw_params_alloca(&params);
	if (snd_pcm_hw_params_current(pcm, params) < 0
	    || snd_pcm_hw_params_get_rate(params, &rate, &direction) < 0
	    || rate == 0)
		return NULL;
	if (snd_pcm_hw_params_get_buffer_size(params, &buffer_frames) < 0)
		buffer_frames = 0;
	free_slot->pcm = pcm;
	free_slot->rate = rate;
	free_slot->buffer_frames = (int64_t)buffer_frames;
	free_slot->written = 0;
	free_slot->total_frames = 0;
	free_slot->start_ns = 0;
	free_slot->first_ns = 0;
	free_slot->last_ns = 0;
	free_slot->underruns = 0;
	return free_slot;
}

/* The absolute time at which a write that brings the total to entry->written
 * returns (see the model above); restarts the clock after an underrun. */
static int64_t deadline_after_write(struct paced *entry, int64_t frames,
				    int64_t called_ns)
{
	int64_t played;

	if (entry->start_ns == 0) {
		entry->start_ns = called_ns;
		entry->first_ns = called_ns;
	}
	played = (called_ns - entry->start_ns) * entry->rate / NS_PER_S;
	if (played > entry->written) { /* the buffer ran dry before this write */
		entry->underruns++;
		entry->start_ns = called_ns;
		entry->written = 0;
	}
	entry->written += frames;
	entry->total_frames += frames;
	return entry->start_ns
	       + (entry->written - entry->buffer_frames) * NS_PER_S / entry->rate;
}

snd_pcm_sframes_t snd_pcm_writei(snd_pcm_t *pcm, const void *buffer,
				 snd_pcm_uframes_t size)
{
	static writei_function real_writei;
	struct paced *entry;
	snd_pcm_sframes_t written;
	int64_t called_ns = now_ns();
	int64_t deadline_ns = 0;

	if (real_writei == NULL)
		real_writei = (writei_function)real_function("snd_pcm_writei");
	written = real_writei(pcm, buffer, size);
	if (written <= 0)
		return written;
	pthread_mutex_lock(&paced_lock);
	entry = find_paced(pcm, 1);
	if (entry != NULL)
		deadline_ns = deadline_after_write(entry, written, called_ns);
	pthread_mutex_unlock(&paced_lock);
	if (entry == NULL)
		return written;
	sleep_until_ns(deadline_ns);
	pthread_mutex_lock(&paced_lock);
	entry = find_paced(pcm, 0);
	if (entry != NULL)
		entry->last_ns = now_ns();
	pthread_mutex_unlock(&paced_lock);
	return written;
}

static void report(const struct paced *entry)
{
	const char *path = getenv("PACED_PCM_REPORT");
	FILE *out;

	if (path == NULL || entry->total_frames == 0)
		return;
	out = fopen(path, "a");
	if (out == NULL)
		return;
	fprintf(out, "paced-pcm rate=%u buffer=%lld frames=%lld seconds=%.6f"
		" underruns=%lu\n", entry->rate, (long long)entry->buffer_frames,
		(long long)entry->total_frames,
		(double)(entry->last_ns - entry->first_ns) / NS_PER_S,
		entry->underruns);
	fclose(out);
}

int snd_pcm_close(snd_pcm_t *pcm)
{
	static close_function real_close;
	struct paced *entry;
	struct paced closed;
	int found = 0;

	if (real_close == NULL)
		real_close = (close_function)real_function("snd_pcm_close");
	pthread_mutex_lock(&paced_lock);
	entry = find_paced(pcm, 0);
	if (entry != NULL) {
		closed = *entry;
		entry->pcm = NULL;
		found = 1;
	}
	pthread_mutex_unlock(&paced_lock);
	if (found)
		report(&closed);
	return real_close(pcm);
}
