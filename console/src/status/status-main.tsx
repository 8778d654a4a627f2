import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { StatusPage } from './status-page.tsx';
import './status.css';

const token = decodeURIComponent(location.pathname.replace(/^\/status\//, '').replace(/\/+$/, ''));

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StatusPage token={token} />
  </StrictMode>,
);
