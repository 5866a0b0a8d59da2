/** The page's entry: the token out of the address bar, then the app. */
import { render } from 'preact';
import { App } from './app.js';
import { takeTokenFromFragment } from './api.js';

takeTokenFromFragment();
const root = document.getElementById('app');
if (root) render(<App />, root);
