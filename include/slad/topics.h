/* topics.h - the three input topics of events.md: which one a message came
 * from decides which event types it may carry. */
#ifndef SLAD_TOPICS_H
#define SLAD_TOPICS_H

enum sla_topic { TOPIC_WORKORDERS = 0, TOPIC_CLOCKINS = 1, TOPIC_ASSESSMENTS = 2, TOPIC_COUNT };

/* The default topic names: fsm.workorders, fsm.clockins, fsm.assessments; NULL past TOPIC_COUNT. */
const char *topic_default_name(enum sla_topic t);

#endif
