// @hypha/app-kit: what every Hypha NestJS service shares (in progress: the services issue).
export {}
