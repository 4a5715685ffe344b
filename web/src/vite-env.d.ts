// Vite handles CSS imports (the one stylesheet, imported by main.tsx).
declare module '*.css';
