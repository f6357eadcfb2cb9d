// The client's event bus: stores publish what changed, views subscribe.
// Push events arrive as 'push:<type>' (push:message, push:read, push:org...).
const handlers = new Map();

export const bus = {
    on(name, fn) {
        if (!handlers.has(name)) handlers.set(name, new Set());
        handlers.get(name).add(fn);
        return () => handlers.get(name)?.delete(fn);
    },
    emit(name, data) {
        for (const fn of [...(handlers.get(name) || [])]) {
            try { fn(data); } catch (e) { console.error('bus handler for', name, e); }
        }
    },
};

// a view subscribes while it is mounted: scope.on(...) then scope.off() when replaced
export function scope() {
    const offs = [];
    return {
        on(name, fn) { offs.push(bus.on(name, fn)); },
        add(off) { offs.push(off); },
        off() { offs.splice(0).forEach((f) => f()); },
    };
}
