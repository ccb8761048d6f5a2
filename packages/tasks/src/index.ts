// @hypha/tasks: the scheduler<->worker task protocol (in progress: the services issue).
export {}
