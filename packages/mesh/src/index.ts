import './polyfill.ts'
export {}
